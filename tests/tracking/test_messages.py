"""Reading one Segment-spec message: what is accepted, what is refused and why, and when it happened."""

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from funnelwise.errors import FieldError
from funnelwise.tracking.messages import MAX_DEPTH, Message, MessageType, Rejected, read_message

RECEIVED = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
SEOUL = ZoneInfo("Asia/Seoul")


def read(raw: Any, **options: Any) -> Message:
    return read_message(raw, received_at=RECEIVED, tz=SEOUL, **options)


def refusal(raw: Any, **options: Any) -> FieldError:
    with pytest.raises(Rejected) as caught:
        read(raw, **options)
    return caught.value.error


def test_a_track_call_is_logged_under_its_event_name_at_the_time_it_was_received() -> None:
    message = read({"type": "track", "event": " Signed Up ", "userId": 42, "messageId": "m-1"})

    assert message.type is MessageType.TRACK
    assert (message.name, message.user_id, message.message_id) == ("Signed Up", "42", "m-1")
    assert message.occurred_at == RECEIVED
    assert message.received_at == RECEIVED


def test_a_page_call_keeps_its_name_and_the_url_of_its_context() -> None:
    message = read(
        {
            "type": "page",
            "anonymousId": "a-1",
            "name": "Pricing",
            "category": "Docs",
            "properties": {"title": "요금제"},
            "context": {"page": {"url": "https://acme.co.kr/pricing", "title": "ignored"}},
        }
    )

    assert message.name == "Page Viewed"
    assert message.properties == {
        "url": "https://acme.co.kr/pricing",
        "title": "요금제",
        "name": "Pricing",
        "category": "Docs",
    }


def test_older_libraries_identify_traits_are_read_from_the_context() -> None:
    message = read({"type": "identify", "userId": "u-1", "context": {"traits": {"email": "a@b.co.kr"}}})

    assert message.traits == {"email": "a@b.co.kr"}


@pytest.mark.parametrize(
    ("raw", "field", "text"),
    [
        ([1, 2], "message", "expected a JSON object"),
        ({"type": "purchase", "userId": "u"}, "type", "unknown type 'purchase'"),
        ({"type": "track", "event": "X"}, "userId", "every message needs a userId or an anonymousId"),
        ({"type": "track", "userId": "u"}, "event", "a track call needs the event's name"),
        ({"type": "track", "event": "X", "userId": ["u"]}, "userId", "expected a string, got list"),
        ({"type": "track", "event": "X", "userId": True}, "userId", "expected a string, got bool"),
        ({"type": "track", "event": "X", "anonymousId": "a" * 256}, "anonymousId", "longer than 255"),
        (
            {"type": "track", "event": "X", "userId": "u", "properties": [1]},
            "properties",
            "expected an object",
        ),
        ({"type": "group", "userId": "u"}, "groupId", "a group call needs the groupId"),
        ({"type": "alias", "userId": "u"}, "previousId", "an alias call needs the previousId"),
        (
            {"type": "alias", "previousId": "p", "anonymousId": "a"},
            "userId",
            "an alias call needs the userId",
        ),
        ({"type": "track", "event": "X\x00", "userId": "u"}, "message", "contains a NUL character"),
        ({"type": "track", "event": "X", "userId": "u", "properties": {"k\x00": 1}}, "message", "NUL"),
        ({"type": "track", "event": "X", "userId": "u", "properties": {"n": float("nan")}}, "message", "NaN"),
        (
            {"type": "track", "event": "X", "userId": "u", "properties": {"s": "\ud800"}},
            "message",
            "surrogate",
        ),
        ({"type": "track", "event": "X", "userId": "u", "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        ({"type": "track", "event": "X", "userId": "u", "timestamp": 1700000000}, "timestamp", "ISO 8601"),
        (
            {"type": "track", "event": "X", "userId": "u", "sentAt": "soon", "timestamp": "2026-11-22"},
            "sentAt",
            "",
        ),
    ],
)
def test_a_message_that_cannot_be_stored_is_refused_naming_the_field(raw: Any, field: str, text: str) -> None:
    error = refusal(raw)

    assert error.field == field
    assert text in error.message


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul() -> None:
    message = read({"type": "track", "event": "X", "userId": "u", "properties": {"path": "C:\\u0000"}})

    assert message.properties == {"path": "C:\\u0000"}


def test_a_message_over_32_kb_is_refused_counting_utf8_bytes_not_escapes() -> None:
    korean = "가" * 10_000  # 30,000 bytes of UTF-8; 60,000 as \\uXXXX escapes
    kept = read({"type": "track", "event": "X", "userId": "u", "properties": {"memo": korean}})
    error = refusal(
        {"type": "track", "event": "X", "userId": "u", "properties": {"memo": korean + "가" * 1000}}
    )

    assert kept.properties == {"memo": korean}
    assert error == FieldError("message", "larger than 32 KB (33,066 bytes)")


def test_a_message_nested_deeper_than_the_limit_is_refused() -> None:
    def nested(depth: int) -> dict[str, Any]:
        value: dict[str, Any] = {}
        for _ in range(depth - 1):
            value = {"a": value}
        return value

    kept = read({"type": "track", "event": "X", "userId": "u", "properties": nested(MAX_DEPTH - 1)})
    error = refusal({"type": "track", "event": "X", "userId": "u", "properties": nested(MAX_DEPTH)})

    assert kept.type is MessageType.TRACK
    assert error == FieldError("message", f"nested deeper than {MAX_DEPTH} levels")


def test_a_forced_type_refuses_a_message_that_says_otherwise() -> None:
    error = refusal({"type": "page", "userId": "u"}, forced_type=MessageType.TRACK)

    assert error == FieldError("type", "this endpoint takes track calls, not 'page'")


def test_a_timestamp_is_moved_by_how_far_the_senders_clock_is_off() -> None:
    # The phone's clock runs 2 hours fast: it sent at 12:00 by its clock what happened at 11:55.
    message = read(
        {
            "type": "track",
            "event": "X",
            "userId": "u",
            "timestamp": "2026-11-22T12:55:00+09:00",
            "sentAt": "2026-11-22T13:00:00+09:00",
        }
    )

    assert message.occurred_at == RECEIVED - timedelta(minutes=5)
    assert message.occurred_at.tzinfo is UTC


def test_the_batchs_sent_at_corrects_messages_that_carry_none() -> None:
    batch_sent_at = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # two hours fast

    message = read(
        {"type": "track", "event": "X", "userId": "u", "originalTimestamp": "2026-11-22T02:59:00Z"},
        batch_sent_at=batch_sent_at,
    )

    assert message.occurred_at == RECEIVED - timedelta(minutes=1)


def test_a_timestamp_without_an_offset_is_read_in_the_configured_timezone() -> None:
    message = read({"type": "track", "event": "X", "userId": "u", "timestamp": "2026-11-22 09:30:00"})

    assert message.occurred_at == datetime(2026, 11, 22, 0, 30, tzinfo=UTC)


def test_a_historical_timestamp_without_sent_at_is_kept_as_given() -> None:
    message = read({"type": "track", "event": "X", "userId": "u", "timestamp": "2024-01-01T00:00:00Z"})

    assert message.occurred_at == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timestamp", "sent_at", "text"),
    [
        ("2026-11-25T00:00:00Z", None, "lies in the future"),
        ("0001-01-01T00:00:00+09:00", None, "out of range"),
        ("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", "out of range"),
    ],
)
def test_a_timestamp_in_the_future_or_out_of_range_is_refused(
    timestamp: str, sent_at: str | None, text: str
) -> None:
    raw = {"type": "track", "event": "X", "userId": "u", "timestamp": timestamp, "sentAt": sent_at}

    error = refusal(raw)

    assert error.field == "timestamp"
    assert text in error.message
