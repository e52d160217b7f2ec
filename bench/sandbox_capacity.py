"""Capacity benchmark of the sandbox pod (`make bench`): many concurrent chats, each sending one message a
second and waiting for its echo on its long poll.

For each level (100, 500, 1,000 chats by default) it starts a fresh `liveagent sandbox serve --port 0
--poll-hold 30 --accept-after 0` as a subprocess (it prints its pod URL on stdout when ready), then drives
the chats with a load generator written on stdlib asyncio: raw HTTP/1.1 over keep-alive connections (two
per chat: one for the long poll, one for POSTs), no third-party client. Each chat does SessionId,
ChasitorInit, polls until ChatEstablished, then sends one ChatMessage a second for `--duration` seconds
(starts staggered over the first second) and measures the round trip from just before its POST is written
to the moment the echo arrives on its poll. After the last send it waits up to `--grace` seconds for the
echoes still on their way; what has not arrived by then counts as lost.

Reported per level: chats, messages sent / echoed / lost, throughput, p50 / p99 / max round trip, the
sandbox's CPU over the window (share of one core), its peak resident memory (VmHWM from /proc) and the load
average before the level. Printed as a markdown table and written to bench/results.md. Everything runs on
loopback; every loop is bounded in count and in time.

    python bench/sandbox_capacity.py [--levels 100,500,1000] [--duration 20] [--grace 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from loadgen import (
    CONNECT_CONCURRENCY,
    connect,
    cpu_seconds,
    peak_rss_mib,
    percentile,
    quiet_collector,
    raise_file_limit,
    start_sandbox,
    stop_sandbox,
)

RESULTS = Path(__file__).resolve().parent / "results.md"
API_VERSION = "49"


@dataclass
class Stats:
    sent: int = 0
    echoed: int = 0
    errors: int = 0
    rtts: list[float] = field(default_factory=list)
    setup_failures: int = 0


class Chat:
    def __init__(self, index: int, host: str, port: int, base: str, stats: Stats) -> None:
        self.index = index
        self.host, self.port, self.base = host, port, base
        self.stats = stats
        self.headers: dict[str, str] = {}
        self.sequence = 0
        self.ack = -1
        self.outstanding: dict[str, float] = {}
        self.established = asyncio.Event()
        self.ended = False

    async def open(self) -> None:
        self.posts = await connect(self.host, self.port)
        self.polls = await connect(self.host, self.port)
        first = {"X-LIVEAGENT-API-VERSION": API_VERSION, "X-LIVEAGENT-AFFINITY": "null"}
        status, body = await self.posts.request("GET", self.base + "System/SessionId", first)
        if status != 200:
            raise RuntimeError(f"SessionId answered {status}")
        info = json.loads(body)
        self.headers = {
            "X-LIVEAGENT-API-VERSION": API_VERSION,
            "X-LIVEAGENT-AFFINITY": info["affinityToken"],
            "X-LIVEAGENT-SESSION-KEY": info["key"],
        }
        init = {
            "organizationId": "00D5g000000SBOX",
            "deploymentId": "5725g000000SBOX",
            "buttonId": "5735g000000SBOX",
            "sessionId": info["id"],
            "visitorName": f"bench-{self.index}",
            "prechatDetails": [],
            "prechatEntities": [],
            "receiveQueueUpdates": True,
            "isPost": True,
            "userAgent": "bench",
            "language": "en-US",
            "screenResolution": "1x1",
        }
        await self.post("Chasitor/ChasitorInit", init)

    async def post(self, noun: str, payload: dict[str, object]) -> None:
        self.sequence += 1
        headers = dict(self.headers, **{"X-LIVEAGENT-SEQUENCE": str(self.sequence)})
        status, body = await self.posts.request("POST", self.base + noun, headers, json.dumps(payload).encode())
        if status != 200:
            self.sequence -= 1
            raise RuntimeError(f"{noun} answered {status}: {body[:200]!r}")

    async def poll_loop(self, deadline: float) -> None:
        while not self.ended and time.monotonic() < deadline:
            status, body = await self.polls.request("GET", f"{self.base}System/Messages?ack={self.ack}", self.headers)
            if status == 204:
                continue
            if status != 200:
                self.stats.errors += 1
                return
            now = time.monotonic()
            batch = json.loads(body)
            self.ack = batch["sequence"]
            for item in batch["messages"]:
                if item["type"] == "ChatEstablished":
                    self.established.set()
                elif item["type"] == "ChatMessage":
                    sent_at = self.outstanding.pop(item["message"]["text"], None)
                    if sent_at is not None:
                        self.stats.echoed += 1
                        self.stats.rtts.append(now - sent_at)
                elif item["type"] in ("ChatEnded", "ChatRequestFail"):
                    self.ended = True

    async def send_loop(self, start: float, duration: float) -> None:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        count = int(duration)
        for i in range(count):
            text = f"chat {self.index} message {i}"
            self.outstanding[text] = time.monotonic()
            self.stats.sent += 1
            try:
                await self.post("Chasitor/ChatMessage", {"text": text})
            except (RuntimeError, ConnectionError, TimeoutError):
                self.stats.errors += 1
            await asyncio.sleep(max(0.0, start + i + 1 - time.monotonic()))


async def run_level(pod_url: str, pid: int, chats: int, duration: float, grace: float) -> tuple[Stats, float, float]:
    """The level's stats, its seconds of sending, and the sandbox's CPU over the window (% of one core)."""
    parts = urlsplit(pod_url)
    host, port, base = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    stats = Stats()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    everyone = [Chat(i, host, port, base, stats) for i in range(chats)]

    async def open_one(chat: Chat) -> bool:
        async with gate:
            try:
                await chat.open()
                return True
            except (OSError, RuntimeError, TimeoutError, ValueError):
                stats.setup_failures += 1
                return False

    opened = await asyncio.gather(*(open_one(c) for c in everyone))
    quiet_collector()
    live = [c for c, ok in zip(everyone, opened, strict=True) if ok]
    horizon = time.monotonic() + 30 + duration + grace + 35
    pollers = [asyncio.create_task(c.poll_loop(horizon)) for c in live]
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(c.established.wait() for c in live))
    except TimeoutError:
        stats.setup_failures += sum(not c.established.is_set() for c in live)
    live = [c for c in live if c.established.is_set()]
    began = time.monotonic() + 0.2
    cpu_at_start = cpu_seconds(pid)
    senders = [asyncio.create_task(c.send_loop(began + i / max(1, len(live)), duration)) for i, c in enumerate(live)]
    await asyncio.gather(*senders)
    sending_time = time.monotonic() - began
    wait_until = time.monotonic() + grace
    while time.monotonic() < wait_until and any(c.outstanding for c in live):
        await asyncio.sleep(0.05)  # the load generator's own bounded wait; the sandbox never sleeps-polls
    cpu_percent = (cpu_seconds(pid) - cpu_at_start) / (time.monotonic() - began) * 100
    for chat in live:
        chat.ended = True
    for task in pollers:
        task.cancel()
    await asyncio.gather(*pollers, return_exceptions=True)
    for chat in everyone:
        for conn in (getattr(chat, "posts", None), getattr(chat, "polls", None)):
            if conn is not None:
                conn.close()
    return stats, sending_time, cpu_percent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="100,500,1000", help="comma-separated numbers of concurrent chats")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of one message a second per chat")
    parser.add_argument("--grace", type=float, default=5.0, help="seconds to wait for the last echoes")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if any(n < 1 or n > 5000 for n in levels) or not 1 <= args.duration <= 600 or not 0 <= args.grace <= 60:
        parser.error("levels 1-5000, duration 1-600 s, grace 0-60 s")
    raise_file_limit()
    rows = []
    for chats in levels:
        load = os.getloadavg()[0]  # the neighbours' share of this machine: above 2, they colour the figures
        proc, pod_url = start_sandbox("--poll-hold", "30", "--accept-after", "0")
        try:
            stats, seconds, cpu = asyncio.run(run_level(pod_url, proc.pid, chats, args.duration, args.grace))
            rss = peak_rss_mib(proc.pid)
        finally:
            stop_sandbox(proc)
        lost = stats.sent - stats.echoed
        rtt = [r * 1000 for r in stats.rtts]
        row = {
            "chats": chats,
            "sent": stats.sent,
            "echoed": stats.echoed,
            "lost": lost,
            "errors": stats.errors,
            "setup_failures": stats.setup_failures,
            "throughput": stats.echoed / seconds if seconds else 0.0,
            "p50": statistics.median(rtt) if rtt else float("nan"),
            "p99": percentile(rtt, 0.99),
            "max": max(rtt) if rtt else float("nan"),
            "rss": rss,
            "cpu": cpu,
            "load": load,
        }
        rows.append(row)
        print(f"{chats} chats: {row['echoed']}/{row['sent']} echoed, p99 {row['p99']:.1f} ms", file=sys.stderr)
    table = render(rows, args.duration)
    print(table)
    RESULTS.write_text(table)
    return 0 if all(r["lost"] == 0 and r["setup_failures"] == 0 for r in rows) else 1


def render(rows: list[dict[str, float]], duration: float) -> str:
    head = (
        f"Sandbox capacity: each chat sends one ChatMessage a second for {duration:g} s and waits for its echo "
        f"on its long poll.\nMachine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; {time.strftime('%Y-%m-%d %H:%M %Z')}.\n\n"
    )
    lines = [
        "| chats | failed to start | sent | echoed | lost | errors | msg/s | p50 ms | p99 ms | max ms "
        "| sandbox CPU | sandbox peak RSS MiB | load average before |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['chats']} | {r['setup_failures']} | {r['sent']} | {r['echoed']} | {r['lost']} | "
            f"{r['errors']} | {r['throughput']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | "
            f"{r['cpu']:.0f}% | {r['rss']:.1f} | {r['load']:.1f} |"
        )
    return head + "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
