"""Live Agent's message semantics in one place: every reader of pod messages agrees on what they mean."""

import ast
import time
from pathlib import Path
from typing import Any

import pytest

from liveagent_cli.core.chat_events import EventKind
from liveagent_cli.core.client import Batch
from liveagent_cli.core.errors import ApiError, StateError
from liveagent_cli.core.messages import AvailabilityResult, apply_batch, check_counter, check_item, interpret
from liveagent_cli.core.render import describe
from liveagent_cli.core.state import ChatPhase, SessionState, StateStore

PACKAGE = Path(__file__).resolve().parent.parent / "liveagent_cli"


def _state() -> SessionState:
    now = time.time()
    return SessionState("http://127.0.0.1:1/chat/rest/", "58", "abc", "k", "aff", 40, now, now)


def _batch(*items: tuple[str, dict[str, Any]], sequence: int = 1) -> Batch:
    return Batch([{"type": t, "message": m} for t, m in items], sequence, None)


def test_each_message_type_reads_as_its_kind() -> None:
    cases = {
        "ChatRequestSuccess": EventKind.REQUESTED,
        "QueueUpdate": EventKind.QUEUE,
        "ChatEstablished": EventKind.ESTABLISHED,
        "ChatTransferred": EventKind.ESTABLISHED,
        "ChatMessage": EventKind.MESSAGE,
        "AgentTyping": EventKind.TYPING,
        "AgentNotTyping": EventKind.TYPING,
        "AgentDisconnect": EventKind.DISCONNECTED,
        "AgentJoinedConference": EventKind.CONFERENCE,
        "TransferToButtonInitiated": EventKind.TRANSFERRING,
        "CustomEvent": EventKind.CUSTOM,
        "ChasitorSessionData": EventKind.TRANSCRIPT,
        "ChatEnded": EventKind.ENDED,
        "ChatRequestFail": EventKind.FAILED,
        "SensitiveDataRules": EventKind.OTHER,
    }
    assert {t: interpret({"type": t, "message": {}}).kind for t in cases} == cases
    assert interpret({"type": "RichMessage", "message": {"items": ["a"]}}).kind is EventKind.MENU
    assert interpret({"type": "RichMessage", "message": {}}).kind is EventKind.OTHER, "a menu needs items"
    assert interpret({"type": "FileTransfer", "message": {"type": "Requested"}}).kind is EventKind.FILE_REQUEST
    assert interpret({"type": "FileTransfer", "message": {"type": "Canceled"}}).kind is EventKind.FILE_SETTLED


def test_a_malformed_item_is_other_not_a_crash() -> None:
    event = interpret({"type": "QueueUpdate", "message": "not an object"})
    assert event.kind is EventKind.QUEUE and event.queue_position is None and event.raw == {}
    assert interpret({}).kind is EventKind.OTHER
    assert interpret({"type": "QueueUpdate", "message": {"position": True}}).queue_position is None
    assert interpret({"type": "QueueUpdate", "message": {"estimatedWaitTime": -1}}).estimated_wait is None


def test_a_batch_walks_the_chat_through_its_phases() -> None:
    state = _state()
    apply_batch(state, _batch(("ChatRequestSuccess", {"queuePosition": 2, "connectionTimeout": 150000})))
    assert (state.chat, state.connection_timeout_ms, state.ack) == ("queued", 150000, 1)
    apply_batch(state, _batch(("ChatEstablished", {"name": "Ava"}), sequence=2))
    assert (state.chat, state.agent_name) == ("established", "Ava")
    apply_batch(state, _batch(("ChatTransferred", {}), sequence=3))
    assert state.agent_name == "Ava", "a transfer that names nobody keeps the agent's name"
    apply_batch(state, _batch(("ChatEnded", {"reason": "agent"}), sequence=4))
    assert (state.chat, state.ended_reason) == ("ended", "ChatEnded: agent")


def test_a_queue_update_after_the_agent_joined_does_not_send_the_chat_back() -> None:
    state = _state()
    apply_batch(state, _batch(("ChatEstablished", {"name": "Ava"}), ("QueueUpdate", {"position": 1})))
    assert state.chat == "established"


def test_file_requests_menus_and_the_transcript_are_folded_into_the_state() -> None:
    state = _state()
    request = {"type": "Requested", "uploadServletUrl": "https://pod/upload", "fileToken": "t1"}
    apply_batch(state, _batch(("FileTransfer", request)))
    assert (state.upload_url, state.file_token) == ("https://pod/upload", "t1")
    apply_batch(state, _batch(("FileTransfer", {"type": "Canceled"})))
    assert (state.upload_url, state.file_token) == ("", "")
    menu = {"type": "ChatWindowButton", "dialogId": "d1", "items": [{"text": "Yes"}, {"label": "No"}, "Maybe"]}
    apply_batch(state, _batch(("RichMessage", menu)))
    assert (state.menu_type, state.menu_items, state.menu_dialog) == ("ChatWindowButton", ["Yes", "No", "Maybe"], "d1")
    entries = [{"type": "Agent"}, {"type": "Chasitor"}, {"type": "Chasitor"}, "junk"]
    apply_batch(state, _batch(("ChasitorSessionData", {"chatMessages": entries})))
    assert state.pod_chasitor_count == 2


def test_poll_shows_the_menu_labels_that_choose_answers_with() -> None:
    menu: dict[str, Any] = {"items": [{"text": "Yes"}, {"label": "No"}, {"value": "later"}]}
    item = {"type": "RichMessage", "message": menu}
    state = _state()
    apply_batch(state, _batch(("RichMessage", menu)))
    assert describe(item, "Ava") == ("bold cyan", "Ava offers a menu: 1) Yes  2) No  3) later")
    assert state.menu_items == ["Yes", "No", "later"]


def test_the_human_text_of_the_queue_and_the_agent() -> None:
    assert describe({"type": "ChatRequestSuccess", "message": {"queuePosition": 0}})[1] == "chat requested: waiting"
    assert describe({"type": "QueueUpdate", "message": {"position": 3, "estimatedWaitTime": 42.7}})[1] == (
        "queue position 3, estimated wait 42 s"
    )
    assert describe({"type": "QueueUpdate", "message": {}})[1] == "queue position ?"
    assert describe({"type": "ChatTransferred", "message": {"name": "Bo"}}) == ("yellow", "chat transferred to Bo")
    assert describe({"type": "AgentTyping", "message": {}}, "Ava")[1] == "Ava is typing…"
    assert describe({"type": "Unknown", "message": {"b": 1, "a": 2}})[1] == 'Unknown {"a": 2, "b": 1}'


def test_availability_is_read_once() -> None:
    result = AvailabilityResult.read(
        [
            {"id": "5731", "isAvailable": False, "estimatedWaitTime": 5},
            {"id": "5732", "isAvailable": True, "estimatedWaitTime": 30},
            "junk",
        ]
    )
    assert result.available and result.estimated_wait == 30, "the wait of an id that is online"
    line = result.of("5732")
    assert line is not None and line.available
    assert result.of("nope") == result.entries[0]
    none = AvailabilityResult.read([{"id": "5731", "isAvailable": "true"}])
    assert not none.available, "only a JSON true means available"
    assert AvailabilityResult.read([]).of("5731") is None


def _imports(path: Path, module: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("liveagent_cli"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("liveagent_cli"))
    return found - {module}


def test_the_client_layers_import_without_a_cycle() -> None:
    """Counting function-local imports too: no import is hidden inside a function to dodge a cycle."""
    modules = {
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts): p
        for layer in ("core", "flows", "cli")
        for p in (PACKAGE / layer).glob("*.py")
        if p.name != "__init__.py"
    }
    graph = {m: _imports(p, m) & modules.keys() for m, p in modules.items()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, "import cycle: " + " -> ".join((*path[path.index(module) :], module))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


def test_the_phase_is_stored_as_the_words_state_files_always_had(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "s1")
    state = _state()
    apply_batch(state, _batch(("ChatEstablished", {"name": "Ava"})))
    store.save(state)
    assert 'chat = "established"' in store.path.read_text(encoding="utf-8")
    assert store.load().chat is ChatPhase.ESTABLISHED
    store.path.write_text(store.path.read_text(encoding="utf-8").replace('"established"', '"chatting"'))
    with pytest.raises(StateError, match="is corrupt: chat is .chatting., not one of session, requested"):
        store.load()


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ({"type": "ChatMessage", "message": "hi"}, "a ChatMessage whose message is not an object"),
        ({"type": "ChatMessage", "message": {"name": "Ava"}}, "a ChatMessage without a string text"),
        ({"type": "ChatMessage", "message": {"text": 5}}, "a ChatMessage without a string text"),
        ({"type": "RichMessage", "message": {"items": "notalist"}}, "a RichMessage whose items are not a list"),
        ({"message": {}}, "an item without a type"),
    ],
)
def test_a_message_the_api_never_sends_is_refused(item: dict[str, Any], says: str) -> None:
    """QA2-30: `{"type":"ChatMessage","message":"hi"}` printed `agent: ` and exited 0."""
    with pytest.raises(ApiError, match=f"^the Messages reply holds {says}$") as info:
        check_item(item)
    assert info.value.code == 5


def test_a_message_of_a_shape_the_api_sends_passes() -> None:
    for item in (
        {"type": "ChatMessage", "message": {"name": "Ava", "text": ""}},
        {"type": "RichMessage", "message": {"type": "ChatWindowMenu", "items": [{"text": "a"}]}},
        {"type": "RichMessage", "message": {"type": "SomethingNew"}},
        {"type": "AgentTyping", "message": {}},
        {"type": "NotYetInvented", "message": 5},
    ):
        check_item(item)


@pytest.mark.parametrize("value", [-1, 2**63, 10**30, True, "1", 1.5])
def test_a_sequence_the_state_file_cannot_hold_is_refused(value: object) -> None:
    """QA2-30: `"sequence": 10**30` was stored as `ack = 1000000000000000000000000000000`."""
    with pytest.raises(ApiError, match="^the Messages reply has a sequence of .*, not a whole number from 0 to 2"):
        check_counter("sequence", value)
    assert check_counter("sequence", 2**63 - 1) == 2**63 - 1 and check_counter("offset", 0) == 0
