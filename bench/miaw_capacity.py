"""Enhanced Chat capacity of the sandbox (`make bench`): many concurrent conversations, each with its event
stream open, sending one message a second and waiting for the echo agent's answer on its stream.

For each level (100, 500, 1,000 conversations by default) it starts a fresh `liveagent sandbox serve --port 0
--accept-after 0 --no-rate-limits` as its own process (the Help page's limits, 22 messages a minute per
conversation and 200 tokens a minute per org, are what a load test must switch off) and drives it from this
process with the raw HTTP/1.1 of loadgen.py: per conversation one keep-alive connection for the REST calls and
one for `GET /eventrouter/v1/sse`, as a real client holds them.

Ramp-up, before anything is measured, in two timed phases: (1) one guest access token per conversation
(each an RS256 JWT: a signature per token), (2) each stream opened with the token's `lastEventId`, the
conversation created, and the agent's join (PARTICIPANT_CHANGED) seen on the stream. Each phase reports its
wall time and the sandbox's CPU seconds.

Then, for `--duration` seconds, every conversation sends one text message a second (starts staggered over the
first second), and the round trip is measured from just before its POST is written to the moment the echo
agent's answer (CONVERSATION_MESSAGE from role Agent with the same text, which is unique per message) arrives
on its stream. After the last send it waits up to `--grace` seconds; a message without its answer by then is
lost. Duplicates: an event id seen twice on one stream, or an answer to a message already answered.

Reported per level: conversations, failed set-ups, sent / echoed / lost / duplicates / errors, throughput,
round trip p50 / p95 / p99 / max, the sandbox's CPU (share of one core over the window) and peak resident
memory (VmHWM), the generator's own CPU, and the ramp-up. A markdown table on stdout; nothing is asserted.

    python bench/miaw_capacity.py [--levels 100,500,1000] [--duration 20] [--grace 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from loadgen import (
    CONNECT_CONCURRENCY,
    EventStream,
    HTTPConnection,
    connect,
    cpu_seconds,
    machine,
    open_stream,
    peak_rss_mib,
    percentile,
    quiet_collector,
    raise_file_limit,
    start_sandbox,
    stop_sandbox,
)

ORG_ID = "00D5g000000SBOX"
DEPLOYMENT = "Sandbox_Custom_Client"
V2 = "/iamessage/api/v2"
ESTABLISH_TIMEOUT = 60.0


@dataclass
class Stats:
    sent: int = 0
    echoed: int = 0
    duplicates: int = 0
    errors: int = 0  # a POST not answered 202, or not answered at all
    streams_lost: int = 0  # a stream that ended before the level did
    setup_failures: int = 0
    rtts: list[float] = field(default_factory=list)
    token_ms: list[float] = field(default_factory=list)


@dataclass
class Phase:
    """A ramp-up phase: its wall time and the sandbox's CPU seconds."""

    seconds: float = 0.0
    sandbox_cpu: float = 0.0


@dataclass
class Window:
    """The measured window: from the first send to the last answer (or the end of the grace period)."""

    seconds: float
    sending_seconds: float
    sandbox_cpu_percent: float  # of one core
    generator_cpu_percent: float


class Conversation:
    def __init__(self, index: int, host: str, port: int, stats: Stats) -> None:
        self.index = index
        self.host, self.port = host, port
        self.stats = stats
        self.id = str(uuid.uuid4())
        self.token = ""
        self.last_event_id = "0"
        self.rest: HTTPConnection | None = None
        self.stream: EventStream | None = None
        self.outstanding: dict[str, float] = {}  # text -> when its POST was written
        self.answered: set[str] = set()
        self.event_ids: set[bytes] = set()
        self.joined = asyncio.Event()
        self.measuring = True

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def mint(self) -> None:
        self.rest = await connect(self.host, self.port)
        body = {"orgId": ORG_ID, "esDeveloperName": DEPLOYMENT, "capabilitiesVersion": "1", "platform": "Web"}
        began = time.monotonic()
        status, answer = await self.rest.request(
            "POST", f"{V2}/authorization/unauthenticated/access-token", {}, json.dumps(body).encode()
        )
        if status != 200:
            raise RuntimeError(f"access-token answered {status}: {answer[:200]!r}")
        self.stats.token_ms.append((time.monotonic() - began) * 1000)
        info = json.loads(answer)
        self.token, self.last_event_id = info["accessToken"], info["lastEventId"]

    async def start(self) -> None:
        """Open the stream, create the conversation; the agent's join arrives on the stream later."""
        assert self.rest is not None
        head = (
            f"GET /eventrouter/v1/sse HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n"
            f"Authorization: Bearer {self.token}\r\nX-Org-Id: {ORG_ID}\r\nLast-Event-Id: {self.last_event_id}\r\n\r\n"
        )
        self.stream = await open_stream(self.host, self.port, head.encode("latin-1"), self.on_event)
        self.stream.ended.add_done_callback(self._ended)
        async with asyncio.timeout(ESTABLISH_TIMEOUT):
            status = await self.stream.opened
        if status != 200:
            raise RuntimeError(f"the stream answered {status}: {self.stream.error_body[:200]!r}")
        body = {"conversationId": self.id, "esDeveloperName": DEPLOYMENT, "routingAttributes": {"_firstName": "bench"}}
        status, answer = await self.rest.request("POST", f"{V2}/conversation", self.auth(), json.dumps(body).encode())
        if status != 201:
            raise RuntimeError(f"create answered {status}: {answer[:200]!r}")

    def _ended(self, _: asyncio.Future[None]) -> None:
        if self.measuring:
            self.stats.streams_lost += 1

    def on_event(self, name: bytes, event_id: bytes | None, data: bytes, now: float) -> None:
        if event_id is not None:
            if event_id in self.event_ids:
                self.stats.duplicates += 1
                return
            self.event_ids.add(event_id)
        if name == b"CONVERSATION_MESSAGE":
            if b'"role":"Agent"' not in data:
                return  # the echo of the end user's own message: not parsed, to spare the generator's CPU
            entry = json.loads(data)["conversationEntry"]
            if entry["sender"]["role"] != "Agent":
                return
            text = json.loads(entry["entryPayload"])["abstractMessage"]["staticContent"]["text"]
            sent_at = self.outstanding.pop(text, None)
            if sent_at is not None:
                self.answered.add(text)
                self.stats.echoed += 1
                self.stats.rtts.append(now - sent_at)
            elif text in self.answered:
                self.stats.duplicates += 1
        elif name == b"CONVERSATION_PARTICIPANT_CHANGED":
            self.joined.set()

    async def send_loop(self, start: float, duration: float) -> None:
        assert self.rest is not None
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        target = f"{V2}/conversation/{self.id}/message"
        headers = self.auth()
        for i in range(int(duration)):
            text = f"conversation {self.index} message {i}"
            body = {
                "message": {
                    "id": str(uuid.uuid4()),
                    "messageType": "StaticContentMessage",
                    "staticContent": {"formatType": "Text", "text": text},
                },
                "esDeveloperName": DEPLOYMENT,
            }
            payload = json.dumps(body).encode()
            self.outstanding[text] = time.monotonic()
            self.stats.sent += 1
            try:
                status, _ = await self.rest.request("POST", target, headers, payload)
                if status != 202:
                    self.stats.errors += 1
            except (ConnectionError, TimeoutError):
                self.stats.errors += 1
            await asyncio.sleep(max(0.0, start + i + 1 - time.monotonic()))

    def close(self) -> None:
        self.measuring = False
        for conn in (self.rest, self.stream):
            if conn is not None:
                conn.close()


async def run_level(
    messaging_url: str, pid: int, count: int, duration: float, grace: float
) -> tuple[Stats, Window, Phase, Phase]:
    parts = urlsplit(messaging_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stats = Stats()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    everyone = [Conversation(i, host, port, stats) for i in range(count)]

    warm = Conversation(-1, host, port, Stats())  # the first token makes the sandbox's RSA key: not ramp-up
    await warm.mint()
    warm.close()

    async def step(conversation: Conversation, action: str) -> bool:
        async with gate:
            try:
                await getattr(conversation, action)()
                return True
            except (OSError, RuntimeError, TimeoutError, ValueError, KeyError):
                stats.setup_failures += 1
                conversation.close()
                return False

    async def phase(action: str, conversations: list[Conversation]) -> tuple[list[Conversation], Phase]:
        cpu, began = cpu_seconds(pid), time.monotonic()
        done = await asyncio.gather(*(step(c, action) for c in conversations))
        live = [c for c, ok in zip(conversations, done, strict=True) if ok]
        if action == "start":
            try:
                async with asyncio.timeout(ESTABLISH_TIMEOUT):
                    await asyncio.gather(*(c.joined.wait() for c in live))
            except TimeoutError:
                stats.setup_failures += sum(not c.joined.is_set() for c in live)
            live = [c for c in live if c.joined.is_set()]
        return live, Phase(time.monotonic() - began, cpu_seconds(pid) - cpu)

    live, tokens = await phase("mint", everyone)
    live, streams = await phase("start", live)
    quiet_collector()

    sandbox_cpu, own_cpu = cpu_seconds(pid), time.process_time()
    began = time.monotonic() + 0.2
    senders = [c.send_loop(began + i / max(1, len(live)), duration) for i, c in enumerate(live)]
    await asyncio.gather(*senders)
    sending = time.monotonic() - began
    wait_until = time.monotonic() + grace
    while time.monotonic() < wait_until and any(c.outstanding for c in live):
        await asyncio.sleep(0.05)  # the load generator's own bounded wait; the sandbox never sleeps-polls
    seconds = time.monotonic() - began
    window = Window(
        seconds,
        sending,
        (cpu_seconds(pid) - sandbox_cpu) / seconds * 100,
        (time.process_time() - own_cpu) / seconds * 100,
    )
    for conversation in everyone:
        conversation.close()
    return stats, window, tokens, streams


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="100,500,1000", help="comma-separated numbers of conversations")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of one message a second each")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds to wait for the last answers")
    parser.add_argument("--profile", metavar="FILE", help="run the sandbox under cProfile; FILE.LEVEL gets its stats")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if any(n < 1 or n > 5000 for n in levels) or not 1 <= args.duration <= 600 or not 0 <= args.grace <= 60:
        parser.error("levels 1-5000, duration 1-600 s, grace 0-60 s")
    raise_file_limit()
    rows = []
    for count in levels:
        load = os.getloadavg()[0]
        profile = f"{args.profile}.{count}" if args.profile else None
        proc, pod_url = start_sandbox("--accept-after", "0", "--no-rate-limits", profile=profile)
        messaging_url = pod_url.split("/chat/rest", 1)[0]
        try:
            stats, window, tokens, streams = asyncio.run(
                run_level(messaging_url, proc.pid, count, args.duration, args.grace)
            )
            rss = peak_rss_mib(proc.pid)
        finally:
            stop_sandbox(proc)
        rtt = [r * 1000 for r in stats.rtts]
        row = {
            "conversations": count,
            "setup_failures": stats.setup_failures,
            "sent": stats.sent,
            "echoed": stats.echoed,
            "lost": stats.sent - stats.echoed,
            "duplicates": stats.duplicates,
            "errors": stats.errors,
            "streams_lost": stats.streams_lost,
            "throughput": stats.echoed / window.sending_seconds,
            "p50": statistics.median(rtt) if rtt else float("nan"),
            "p95": percentile(rtt, 0.95),
            "p99": percentile(rtt, 0.99),
            "max": max(rtt) if rtt else float("nan"),
            "cpu": window.sandbox_cpu_percent,
            "generator_cpu": window.generator_cpu_percent,
            "rss": rss,
            "tokens_s": tokens.seconds,
            "tokens_cpu": tokens.sandbox_cpu,
            "token_p50": statistics.median(stats.token_ms) if stats.token_ms else float("nan"),
            "token_cpu_ms": tokens.sandbox_cpu / max(1, count) * 1000,
            "streams_s": streams.seconds,
            "streams_cpu": streams.sandbox_cpu,
            "load": load,
        }
        rows.append(row)
        print(
            f"{count} conversations: {row['echoed']}/{row['sent']} echoed, p99 {row['p99']:.1f} ms, "
            f"sandbox CPU {row['cpu']:.0f}%, tokens {tokens.seconds:.1f} s",
            file=sys.stderr,
        )
    print(render(rows, args.duration))
    return 0 if all(r["lost"] == 0 and r["setup_failures"] == 0 and r["duplicates"] == 0 for r in rows) else 1


def render(rows: list[dict[str, float]], duration: float) -> str:
    head = (
        f"Enhanced Chat capacity: each conversation holds its event stream open and sends one message a second "
        f"for {duration:g} s; round trip = POST written until the echo agent's answer arrived on the stream.\n"
        f"{machine()}\n\n"
    )
    lines = [
        "| conversations | failed to start | sent | echoed | lost | duplicates | errors | msg/s | p50 ms | p95 ms "
        "| p99 ms | max ms | sandbox CPU | generator CPU | sandbox peak RSS MiB | load average before |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['conversations']} | {r['setup_failures']} | {r['sent']} | {r['echoed']} | {r['lost']} | "
            f"{r['duplicates']} | {r['errors'] + r['streams_lost']} | {r['throughput']:.0f} | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['cpu']:.0f}% | {r['generator_cpu']:.0f}% | "
            f"{r['rss']:.1f} | {r['load']:.1f} |"
        )
    ramp = [
        "",
        "Ramp-up, before the measured window (wall time, and the sandbox's CPU seconds; each token is an RS256 JWT):",
        "",
        "| conversations | tokens: wall s | tokens: sandbox CPU s | per token: CPU ms / p50 answer ms "
        "| streams + create + join: wall s | sandbox CPU s |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ramp.append(
            f"| {r['conversations']} | {r['tokens_s']:.1f} | {r['tokens_cpu']:.1f} | {r['token_cpu_ms']:.1f} / "
            f"{r['token_p50']:.1f} | {r['streams_s']:.1f} | {r['streams_cpu']:.1f} |"
        )
    return head + "\n".join(lines + ramp) + "\n"


if __name__ == "__main__":
    sys.exit(main())
