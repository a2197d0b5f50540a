"""Segment-spec messages: checking one raw message and reading it into a `Message`."""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from funnelwise.errors import FieldError

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_ID_LENGTH = 255
# Deeper documents are refused: nothing real nests this deep, and the JSON encoders and
# PostgreSQL's parser recurse once per level.
MAX_DEPTH = 64
# A NUL escape that is not itself an escaped backslash followed by "u0000".
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class MessageType(StrEnum):
    IDENTIFY = "identify"
    TRACK = "track"
    PAGE = "page"
    SCREEN = "screen"
    GROUP = "group"
    ALIAS = "alias"


# What each call is called in the event log; a track call is logged under its own event name.
EVENT_NAMES = {
    MessageType.IDENTIFY: "Identify",
    MessageType.PAGE: "Page Viewed",
    MessageType.SCREEN: "Screen Viewed",
    MessageType.GROUP: "Group",
    MessageType.ALIAS: "Alias",
}


@dataclass
class Message:
    """One checked message, its time corrected for the sender's clock skew."""

    type: MessageType
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    name: str
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    occurred_at: datetime
    received_at: datetime
    group_id: str | None = None
    previous_id: str | None = None
    source_id: int | None = None


class Rejected(Exception):
    """A message that cannot be stored; the error names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        self.error = FieldError(field_name, message)
        super().__init__(f"{field_name}: {message}")


def read_message(
    raw: Any,
    *,
    received_at: datetime,
    tz: ZoneInfo,
    forced_type: MessageType | None = None,
    batch_sent_at: datetime | None = None,
) -> Message:
    """The message `raw` holds, or `Rejected` saying what is wrong with it."""
    if not isinstance(raw, dict):
        raise Rejected("message", "expected a JSON object")
    _check_storable(raw)
    kind = _type(raw, forced_type)
    user_id = _identifier(raw, "userId")
    anonymous_id = _identifier(raw, "anonymousId")
    if user_id is None and anonymous_id is None:
        raise Rejected("userId", "every message needs a userId or an anonymousId")
    properties = _object(raw, "properties")
    context = _object(raw, "context")
    traits = _object(raw, "traits")
    if kind is MessageType.IDENTIFY and not traits:
        # Older libraries put identify traits in context.traits.
        traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
    message = Message(
        type=kind,
        message_id=_identifier(raw, "messageId") or f"fw-{uuid.uuid4()}",
        user_id=user_id,
        anonymous_id=anonymous_id,
        name=_event_name(raw, kind),
        properties=properties,
        traits=traits,
        context=context,
        occurred_at=_occurred_at(raw, received_at, tz, batch_sent_at),
        received_at=received_at,
    )
    if kind is MessageType.PAGE or kind is MessageType.SCREEN:
        _page_properties(raw, message)
    elif kind is MessageType.GROUP:
        message.group_id = _identifier(raw, "groupId")
        if message.group_id is None:
            raise Rejected("groupId", "a group call needs the groupId of the company")
    elif kind is MessageType.ALIAS:
        message.previous_id = _identifier(raw, "previousId")
        if message.previous_id is None:
            raise Rejected("previousId", "an alias call needs the previousId it joins to the userId")
        if user_id is None:
            raise Rejected("userId", "an alias call needs the userId the previousId joins")
    return message


def parse_time(value: Any, field_name: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 time in UTC; one without an offset is read in `tz`."""
    expected = f"expected an ISO 8601 time such as '2026-03-01T09:30:00Z', got {value!r}"
    if not isinstance(value, str):
        raise Rejected(field_name, expected)
    try:
        moment = datetime.fromisoformat(value.strip())
        return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)
    except ValueError:
        raise Rejected(field_name, expected) from None
    except OverflowError:
        raise Rejected(field_name, f"{value!r} is out of range") from None


def _check_storable(raw: dict[str, Any]) -> None:
    """Refuses what neither database can store: oversized, NaN, NUL, lone surrogates, deep nesting."""
    encoded = _encoded(raw)
    if len(encoded) > MAX_MESSAGE_BYTES:
        raise Rejected("message", f"larger than {MAX_MESSAGE_BYTES // 1024} KB ({len(encoded):,} bytes)")
    if b"\\u0000" in encoded and _NUL.search(encoded.decode()):
        raise Rejected("message", "contains a NUL character (\\u0000), which cannot be stored")
    # Only a document with that many brackets can be that deep, so most skip the walk.
    if encoded.count(b"{") + encoded.count(b"[") > MAX_DEPTH and _depth(raw) > MAX_DEPTH:
        raise Rejected("message", f"nested deeper than {MAX_DEPTH} levels")


def _encoded(raw: dict[str, Any]) -> bytes:
    """The message as compact UTF-8 JSON: orjson when it can, the standard library's checks otherwise.

    orjson is several times faster, but writes NaN and Infinity as null and stops at integers
    beyond 64 bits; a document with a null, or one orjson refuses, takes the exact path.
    """
    try:
        encoded = orjson.dumps(raw)
    except TypeError:  # orjson.JSONEncodeError is one
        return _strictly_encoded(raw)
    return _strictly_encoded(raw) if b"null" in encoded else encoded


def _strictly_encoded(raw: dict[str, Any]) -> bytes:
    try:
        encoded = json.dumps(raw, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise Rejected("message", "contains NaN or Infinity, which JSON cannot hold") from None
    except RecursionError:
        raise Rejected("message", f"nested deeper than {MAX_DEPTH} levels") from None
    try:
        return encoded.encode()
    except UnicodeEncodeError:
        raise Rejected("message", "contains an unpaired UTF-16 surrogate, which is not text") from None


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _type(raw: dict[str, Any], forced: MessageType | None) -> MessageType:
    given = raw.get("type")
    if forced is not None:
        if given is not None and given != forced.value:
            raise Rejected("type", f"this endpoint takes {forced.value} calls, not {given!r}")
        return forced
    try:
        return MessageType(given)
    except ValueError:
        expected = ", ".join(t.value for t in MessageType)
        raise Rejected("type", f"unknown type {given!r}; expected one of {expected}") from None


def _identifier(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Rejected(key, f"expected a string, got {type(value).__name__}")
    text = str(value)
    if len(text) > MAX_ID_LENGTH:
        raise Rejected(key, f"longer than {MAX_ID_LENGTH} characters")
    return text


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(key, f"expected an object, got {type(value).__name__}")
    return value


def _event_name(raw: dict[str, Any], kind: MessageType) -> str:
    if kind is not MessageType.TRACK:
        return EVENT_NAMES[kind]
    event = raw.get("event")
    if not isinstance(event, str) or not event.strip():
        raise Rejected("event", "a track call needs the event's name, for example 'Order Completed'")
    if len(event) > MAX_ID_LENGTH:
        raise Rejected("event", f"longer than {MAX_ID_LENGTH} characters")
    return event.strip()


def _occurred_at(
    raw: dict[str, Any], received_at: datetime, tz: ZoneInfo, batch_sent_at: datetime | None
) -> datetime:
    """When it happened: the sender's timestamp moved by how far the sender's clock is off."""
    stamp = raw.get("timestamp") or raw.get("originalTimestamp")
    if stamp is None:
        return received_at
    occurred = parse_time(stamp, "timestamp", tz)
    sent_at = parse_time(raw["sentAt"], "sentAt", tz) if raw.get("sentAt") else batch_sent_at
    if sent_at is not None:
        try:
            occurred += received_at - sent_at
        except OverflowError:
            raise Rejected("timestamp", f"{stamp!r} corrected by sentAt is out of range") from None
    if occurred > received_at + timedelta(days=1):
        raise Rejected("timestamp", f"{stamp!r} lies in the future")
    return occurred


def _page_properties(raw: dict[str, Any], message: Message) -> None:
    """Page and screen calls keep their name and category, and the page's URL from context."""
    page = message.context.get("page")
    properties = dict(page) if isinstance(page, dict) else {}
    properties.update(message.properties)
    for key in ("name", "category"):
        value = raw.get(key)
        if isinstance(value, str) and value:
            properties.setdefault(key, value)
    message.properties = properties
