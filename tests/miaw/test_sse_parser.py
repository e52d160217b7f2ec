"""The Server-Sent Events parser against the HTML standard's rules, fed bytes written here by hand: whole
streams, streams cut at every byte, CRLF and CR line ends, comments, ids that persist, limits."""

from __future__ import annotations

import pytest

from liveagent_cli.core.miaw.sse import SseEvent, SseParser, SseTooLarge


def parse(data: bytes, last_event_id: str = "") -> list[SseEvent]:
    parser = SseParser(last_event_id)
    return parser.feed(data) + parser.close()


def parse_bytewise(data: bytes) -> list[SseEvent]:
    parser = SseParser()
    events: list[SseEvent] = []
    for i in range(len(data)):
        events += parser.feed(data[i : i + 1])
    return events + parser.close()


ENHANCED_CHAT = (
    b'id:7\nevent:CONVERSATION_MESSAGE\ndata:{"conversationId":"c"}\n\n'
    b"event:ping\ndata:0\n\n"
    b'id: 8\nevent: CONVERSATION_ROUTING_RESULT\ndata: {"a": 1}\n\n'
)


def test_enhanced_chat_framing_with_and_without_a_space_after_the_colon() -> None:
    events = parse(ENHANCED_CHAT)
    assert [(e.event, e.id, e.data) for e in events] == [
        ("CONVERSATION_MESSAGE", "7", '{"conversationId":"c"}'),
        ("ping", None, "0"),
        ("CONVERSATION_ROUTING_RESULT", "8", '{"a": 1}'),
    ]


def test_an_event_without_its_own_id_carries_the_last_one() -> None:
    events = parse(ENHANCED_CHAT)
    assert [e.last_event_id for e in events] == ["7", "7", "8"]


def test_the_resume_id_is_the_starting_last_event_id_until_an_id_arrives() -> None:
    events = parse(b"event:ping\ndata:0\n\n", last_event_id="41")
    assert events[0].id is None and events[0].last_event_id == "41"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_the_spec_allows(newline: bytes) -> None:
    data = ENHANCED_CHAT.replace(b"\n", newline)
    assert [(e.event, e.id, e.data) for e in parse(data)] == [(e.event, e.id, e.data) for e in parse(ENHANCED_CHAT)]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_cut_at_every_byte_gives_the_same_events(newline: bytes) -> None:
    data = ENHANCED_CHAT.replace(b"\n", newline)
    assert parse_bytewise(data) == parse(data)


def test_a_crlf_split_across_two_reads_is_one_line_end() -> None:
    parser = SseParser()
    assert parser.feed(b"data:a\r") == []
    assert parser.feed(b"\ndata:b\r") == []
    events = parser.feed(b"\n\r\n")
    assert [e.data for e in events] == ["a\nb"]


def test_multi_line_data_is_joined_by_newlines_without_a_final_one() -> None:
    (event,) = parse(b"data:first\ndata:\ndata:  third\n\n")
    assert event.data == "first\n\n third"
    assert event.event == "message"  # the default type


def test_comments_are_skipped_and_counted() -> None:
    parser = SseParser()
    events = parser.feed(b": keep-alive\n:\ndata:x\n\n")
    assert [e.data for e in events] == ["x"] and parser.comments == 2


def test_a_block_without_data_dispatches_nothing_and_resets_the_type() -> None:
    events = parse(b"event:ping\n\ndata:x\n\n")
    assert [(e.event, e.data) for e in events] == [("message", "x")]


def test_an_id_only_block_moves_the_resume_id_without_an_event() -> None:
    parser = SseParser()
    assert parser.feed(b"id:9\n\n") == [] and parser.last_event_id == "9"


def test_an_id_with_a_nul_is_ignored() -> None:
    (event,) = parse(b"id:1\x002\ndata:x\n\n", last_event_id="5")
    assert event.id is None and event.last_event_id == "5"


def test_an_empty_id_resets_the_resume_id() -> None:
    (event,) = parse(b"id\ndata:x\n\n", last_event_id="5")
    assert event.id == "" and event.last_event_id == ""


def test_retry_only_when_all_digits() -> None:
    parser = SseParser()
    parser.feed(b"retry:1500\ndata:x\n\nretry:soon\ndata:y\n\n")
    assert parser.retry == 1500


def test_a_field_without_a_colon_has_an_empty_value_and_unknown_lines_are_kept_as_stray() -> None:
    parser = SseParser()
    events = parser.feed(b"data\n\nJwt is expired\n\n") + parser.close()
    assert [e.data for e in events] == [""]
    assert parser.stray == "Jwt is expired"


def test_what_is_left_at_the_end_without_a_blank_line_is_discarded() -> None:
    assert parse(b"data:complete\n\ndata:incomplete\n") == parse(b"data:complete\n\n")


def test_a_bom_is_dropped_once_and_utf8_split_inside_a_character_survives() -> None:
    data = "\ufeffdata:héllo ✓\n\n".encode()
    assert [e.data for e in parse_bytewise(data)] == ["héllo ✓"]
    assert [e.data for e in parse(b"data:\xef\xbb\xbfx\n\n")] == ["\ufeffx"]  # only the stream's first BOM


def test_a_line_longer_than_the_limit_is_refused() -> None:
    parser = SseParser(max_line=100)
    with pytest.raises(SseTooLarge):
        for _ in range(20):
            parser.feed(b"data:" + b"x" * 10)


def test_an_event_larger_than_the_limit_is_refused() -> None:
    parser = SseParser(max_event=100)
    with pytest.raises(SseTooLarge):
        parser.feed(b"data:" + b"x" * 60 + b"\n" + b"data:" + b"x" * 60 + b"\n")


def test_many_events_leave_nothing_buffered() -> None:
    parser = SseParser()
    for n in range(10_000):
        (event,) = parser.feed(b"id:%d\nevent:E\ndata:{}\n\n" % n)
        assert event.id == str(n)
    assert parser._line == [] and parser._data == []
