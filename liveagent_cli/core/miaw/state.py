"""An Enhanced Chat session's record, in the same state files, folder and locks as a Live Agent session.

A slot's file (`StateStore.path`) holds one session of either API. An Enhanced Chat one is written as
`schema = 1`, `api = "miaw"`, `miaw_schema = MIAW_SCHEMA` and a `[miaw]` table; a file without `api` is a
Live Agent one (core/state.py). `stored_api` tells them apart without trusting the rest, so one place
(flows/api_choice.py) can pick the sibling that reads the file. The locks are the store's own: `state` around each
read-change-write, `send` across one message, `poll` for the one event stream.

What is kept, and why (issue 13):
- where the session lives: the Messaging URL, org id, deployment name; the access token (a secret, like the
  session key: redacted everywhere) and its expiry read from the JWT; whether an identity token made it a
  verified user, and where that token came from (never the token);
- the conversation (its client-chosen id), where its messaging session stands (`chat`), and whether it was
  closed for good;
- the stream position: the last event id *printed* (stored only after printing), the entry ids printed
  lately and the newest printed entry's time, so events recovered from the entries listing after a cut are
  not shown twice;
- the ids of messages chosen and recorded before their request went out, until the server took them;
- the pre-chat values (`routingAttributes`) and language, so a new messaging session after a 417 carries
  them again; the pre-chat form from the token response, to check values against;
- the last choices message, for `choose`.
"""

from __future__ import annotations

import functools
import math
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, get_args, get_origin, get_type_hints

from liveagent_cli.core.atomic import atomic_write
from liveagent_cli.core.errors import SessionGoneError, StateError
from liveagent_cli.core.state import INT64_MAX, ChatPhase, StateStore

API = "miaw"
LIVEAGENT = "liveagent"
STATE_SCHEMA = 1  # the file's outer schema, shared with core/state.py
MIAW_SCHEMA = 1  # the [miaw] table's own
SEEN_KEPT = 500  # entry ids remembered for de-duplication: far more than one cut can miss
SEEN_DIGEST_BYTES = 6  # of each remembered id's hash: a false match is a 1 in 10**12 chance per event
PENDING_KEPT = 100
_HEADER = "# liveagent session state (Enhanced Chat). Holds a live access token: do not share or commit this file.\n"
_RESET_HINT = "remove it (the conversation is lost to this tool) and start again with `liveagent session`"


@dataclass
class MiawState:
    id: str  # this tool's own name for the session (a UUID): a step never carries on into a replaced one
    messaging_url: str
    org_id: str
    deployment_name: str
    access_token: str
    token_expires_at: float = 0.0  # epoch seconds from the JWT's exp; 0 when the token carries none
    verified: bool = False  # an identity token made it (a verified user)
    identity_source: str = ""  # where that token came from: "--identity-token FILE", "LIVEAGENT_IDENTITY_TOKEN"
    subject: str = ""  # context.endUser.subject
    device_id: str = ""
    conversation_id: str = ""  # chosen (and stored) before the create request went out
    chat: ChatPhase = ChatPhase.SESSION  # where the current messaging session stands; ENDED between sessions
    conversation_closed: bool = False  # closed for good (end): nothing more can be sent
    agent_name: str = ""
    ended_reason: str = ""
    visitor_name: str = ""
    routing_attributes: dict[str, str] = field(default_factory=dict)  # the pre-chat values, by field name
    language: str = ""
    prechat_form: str = ""  # the token response's pre-chat form (JSON), to check values against
    last_event_id: str = ""  # of the last event printed (or the token's lastEventId before any)
    # the entry ids printed lately (at most SEEN_KEPT), as short digests in one space-separated string: every
    # step reads and writes the whole state, and 500 ids as a TOML array made each `send` of a long
    # conversation parse 22 KB of it four times (bench/miaw_step_costs.py); this is a quarter of the work
    seen_entry_digests: str = ""
    last_entry_ms: int = 0  # transcriptedTimestamp of the newest entry printed
    pending_messages: list[str] = field(default_factory=list)  # ids chosen, request not yet answered
    messages_sent: int = 0
    sessions_started: int = 1  # messaging sessions of the conversation: a new one after a 417 adds one
    sessions_ended_seen: int = 0  # session ends printed: an end older than the latest session is history
    menu_message_id: str = ""  # the last ChoicesMessage: its id, options and their titles
    menu_options: list[str] = field(default_factory=list)
    menu_items: list[str] = field(default_factory=list)
    created_at: float = 0.0
    updated_at: float = 0.0
    sources: dict[str, str] = field(default_factory=dict)  # where the Messaging URL, ids, ... came from

    @property
    def api(self) -> str:
        return API

    def has_seen(self, entry_id: str) -> bool:
        """Whether the entry `entry_id` is among those printed lately."""
        return bool(entry_id) and _digest(entry_id) in self.seen_entry_digests.split()

    def remember_entry(self, entry_id: str, timestamp: int | None) -> None:
        """An entry was printed: its id joins the recent ones, its time may move the high-water mark."""
        if entry_id:
            digest = _digest(entry_id)
            seen = [d for d in self.seen_entry_digests.split() if d != digest]
            seen.append(digest)
            self.seen_entry_digests = " ".join(seen[-SEEN_KEPT:])
        if timestamp is not None and timestamp > self.last_entry_ms:
            self.last_entry_ms = min(timestamp, INT64_MAX)

    def to_toml(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_toml(cls, data: Mapping[str, Any], path: object) -> MiawState:
        kinds = _field_types()
        for f in fields(cls):
            if f.name not in data:
                if _required(f):
                    raise StateError(f"state file {path} has no {f.name.replace('_', ' ')}", hint=_RESET_HINT)
                continue
            problem = _problem(data[f.name], kinds[f.name])
            if problem:
                raise StateError(f"state file {path} is corrupt: {f.name} {problem}", hint=_RESET_HINT)
        kwargs = {k: v for k, v in data.items() if k in kinds}
        if "chat" in kwargs:
            kwargs["chat"] = ChatPhase(kwargs["chat"])
        return cls(**kwargs)


def _digest(entry_id: str) -> str:
    import hashlib  # loaded by requests already wherever entries are followed; status never needs it

    return hashlib.blake2b(entry_id.encode("utf-8"), digest_size=SEEN_DIGEST_BYTES).hexdigest()


def _required(f: Any) -> bool:
    from dataclasses import MISSING

    return f.default is MISSING and f.default_factory is MISSING


@functools.cache
def _field_types() -> dict[str, Any]:
    return get_type_hints(MiawState)


def _problem(value: Any, kind: Any) -> str | None:
    if kind is bool:
        return None if isinstance(value, bool) else f"is {value!r}, not true or false"
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT64_MAX
        return None if ok else f"is {value!r}, not a whole number from 0 to 2**63-1"
    if kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else f"is {value!r}, not a time"
    if kind is str:
        return None if isinstance(value, str) else f"is {value!r}, not a string"
    if kind is ChatPhase:
        phases = [p.value for p in ChatPhase]
        return None if value in phases else f"is {value!r}, not one of {', '.join(phases)}"
    if get_origin(kind) is list:
        return (
            None if isinstance(value, list) and all(isinstance(v, str) for v in value) else "is not a list of strings"
        )
    if get_origin(kind) is dict:
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        return None if ok else "is not a table of strings"
    raise TypeError(f"MiawState: no check for {kind} ({get_args(kind)})")  # a new field's type: add its check


# -- the file ----------------------------------------------------------------------------------------------
def _read(store: StateStore) -> dict[str, Any] | None:
    """The slot's file as TOML, None when there is none; StateError when it cannot be read or parsed."""
    try:
        raw = store.path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read state file {store.path}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise StateError(f"state file {store.path} is corrupt (not TOML)", hint=_RESET_HINT) from None


def stored_api(store: StateStore) -> str | None:
    """The API of the session the slot holds ("liveagent" or "miaw"), None when it holds none. A file that
    cannot be read is reported by the sibling that loads it, so it counts as Live Agent's here."""
    try:
        data = _read(store)
    except StateError:
        return LIVEAGENT
    if data is None:
        return None
    return API if data.get("api") == API else LIVEAGENT


def load(store: StateStore) -> MiawState:
    """The stored Enhanced Chat session; SessionGoneError when the slot holds none."""
    data = _read(store)
    if data is None:
        raise SessionGoneError(
            f"no session named {store.name!r}" if store.name != "default" else "no session",
            hint="start one with `liveagent session`" + (f" --session {store.name}" if store.name != "default" else ""),
        )
    if data.get("api") != API:
        raise StateError(
            f"session {store.name!r} is a Live Agent session, not an Enhanced Chat one",
            hint="run this step with --api liveagent, or start an Enhanced Chat session with `liveagent session --api "
            "miaw --replace`",
        )
    if (
        data.get("schema") != STATE_SCHEMA
        or data.get("miaw_schema") != MIAW_SCHEMA
        or not isinstance(data.get(API), dict)
    ):
        raise StateError(
            f"state file {store.path} is not a liveagent Enhanced Chat state file of schema {MIAW_SCHEMA}",
            hint=_RESET_HINT,
        )
    return MiawState.from_toml(data[API], store.path)


def save(store: StateStore, state: MiawState) -> None:
    """Atomically replace the slot's file (a reader sees the old state or the new one)."""
    import tomli_w

    _ensure_dir(store)
    state.updated_at = time.time()
    document = {"schema": STATE_SCHEMA, "api": API, "miaw_schema": MIAW_SCHEMA, API: state.to_toml()}
    try:
        atomic_write(store.path, (_HEADER + tomli_w.dumps(document)).encode("utf-8"))
    except OSError as exc:
        words = exc.strerror or str(exc)
        raise StateError(
            f"state folder {store.directory} is not writable: {words[:1].lower()}{words[1:]}",
            hint="point LIVEAGENT_STATE_DIR at a folder you can write",
        ) from None


def update(store: StateStore, change: Callable[[MiawState], None]) -> MiawState:
    """Read, change and write under the state lock, so concurrent steps never overwrite each other."""
    with store.lock():
        state = load(store)
        change(state)
        save(store, state)
        return state


def _ensure_dir(store: StateStore) -> None:
    if store.directory.is_dir():
        return
    try:
        store.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot create state folder {store.directory}: {exc.strerror}") from None
