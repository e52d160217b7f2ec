"""The entry ids a follower remembers for de-duplication: every one printed lately is recognised, and keeping
them costs every step little, since each step reads and writes the whole state file."""

from __future__ import annotations

import tomllib
import uuid

import tomli_w

from liveagent_cli.core.miaw.state import SEEN_KEPT, MiawState


def state() -> MiawState:
    return MiawState(
        id="s", messaging_url="https://x.my.salesforce-scrt.com", org_id="00D", deployment_name="d", access_token="t"
    )


def test_the_last_ids_printed_are_recognised_and_older_ones_forgotten() -> None:
    ids = [str(uuid.uuid4()) for _ in range(SEEN_KEPT + 100)]
    record = state()
    for n, entry_id in enumerate(ids):
        record.remember_entry(entry_id, 1_000 + n)
    reread = MiawState.from_toml(tomllib.loads(tomli_w.dumps(record.to_toml())), "state")
    assert all(reread.has_seen(entry_id) for entry_id in ids[-SEEN_KEPT:])
    assert not any(reread.has_seen(entry_id) for entry_id in ids[:100])
    assert not reread.has_seen(str(uuid.uuid4())) and not reread.has_seen("")
    assert reread.last_entry_ms == 1_000 + len(ids) - 1


def test_an_id_printed_again_is_kept_as_the_newest() -> None:
    record = state()
    first = str(uuid.uuid4())
    record.remember_entry(first, None)
    for _ in range(SEEN_KEPT - 1):
        record.remember_entry(str(uuid.uuid4()), None)
    record.remember_entry(first, None)  # shown again (a replay): it must not age out first
    record.remember_entry(str(uuid.uuid4()), None)
    assert record.has_seen(first)


def test_a_long_conversation_keeps_the_state_file_small() -> None:
    record = state()
    for _ in range(SEEN_KEPT + 100):
        record.remember_entry(str(uuid.uuid4()), None)
    # 500 ids as a TOML array were 22 KB, parsed four times by every `send` of a long conversation
    assert len(tomli_w.dumps({"miaw": record.to_toml()})) < 8_000
