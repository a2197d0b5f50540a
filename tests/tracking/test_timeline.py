"""A contact's timeline, newest first a page at a time, and the event log queried by name, time and property."""

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.contacts.models import Contact
from funnelwise.tracking.models import Event

Send = Callable[..., httpx.Response]
DAY_ONE = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def event(number: int, name: str, hours: int, **fields: Any) -> dict[str, Any]:
    at = (DAY_ONE + timedelta(hours=hours)).isoformat()
    return {
        "type": "track",
        "userId": "u-1",
        "event": name,
        "messageId": f"m-{number}",
        "timestamp": at,
        **fields,
    }


def contact_id(sessions: sessionmaker[Session], user_id: str) -> int:
    with sessions() as session:
        return session.scalars(select(Contact.id).filter_by(user_id=user_id)).one()


def pages(api: httpx.Client, path: str, **params: Any) -> list[list[str]]:
    """The message ids of every page, following next_cursor to the end."""
    found: list[list[str]] = []
    cursor = None
    while True:
        body = api.get(path, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        found.append([item["message_id"] for item in body["results"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def test_the_timeline_is_newest_first_in_cursor_pages_ties_broken_by_arrival(
    send: Send, api: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    send(
        event(1, "Signed Up", 0),
        event(2, "Viewed Pricing", 5),
        event(3, "Viewed Pricing", 5),
        event(4, "Order Completed", 9),
        event(5, "Viewed Pricing", 2),
    )
    send(event(6, "Viewed Pricing", 5), event(7, "Logged Out", 12))
    path = f"/api/v1/contacts/{contact_id(sessions, 'u-1')}/events"

    assert pages(api, path, limit=3) == [["m-7", "m-4", "m-6"], ["m-3", "m-2", "m-5"], ["m-1"]]
    assert pages(api, path, limit=2, name="Viewed Pricing") == [["m-6", "m-3"], ["m-2", "m-5"]]
    first = api.get(path, params={"limit": 1}).json()["results"][0]
    assert {k: first[k] for k in ("message_id", "type", "name", "anonymous_id", "occurred_at")} == {
        "message_id": "m-7",
        "type": "track",
        "name": "Logged Out",
        "anonymous_id": None,
        "occurred_at": "2026-11-01T12:00:00Z",
    }


def test_a_merged_away_contacts_timeline_is_the_kept_contacts(
    send: Send, api: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    send(event(1, "Signed Up", 0, userId="old-id"), event(2, "Logged In", 1, userId="new-id"))
    old = contact_id(sessions, "old-id")
    kept = contact_id(sessions, "new-id")

    send({"type": "alias", "previousId": "old-id", "userId": "new-id", "messageId": "m-3"})

    merged = pages(api, f"/api/v1/contacts/{old}/events")
    assert merged == pages(api, f"/api/v1/contacts/{kept}/events")
    [[alias, merge, second, first]] = merged
    assert (alias, second, first) == ("m-3", "m-2", "m-1")
    with sessions() as session:
        assert session.scalar(select(Event.name).where(Event.message_id == merge)) == "Contacts Merged"


def test_a_cursor_that_the_api_did_not_hand_out_is_422(
    send: Send, api: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    send(event(1, "Signed Up", 0))
    path = f"/api/v1/contacts/{contact_id(sessions, 'u-1')}/events"
    forged = [
        "%%%",
        base64.urlsafe_b64encode(b"2026-11-01T00:00:00|5").decode(),  # no offset
        base64.urlsafe_b64encode(b"2026-11-01T00:00:00+00:00|99999999999999999999").decode(),
        base64.urlsafe_b64encode(b"yesterday|5").decode(),
    ]

    answers = [api.get(path, params={"cursor": cursor}) for cursor in forged]

    assert [(a.status_code, a.json()["errors"]) for a in answers] == [
        (422, [{"field": "cursor", "message": "not a cursor this API handed out"}])
    ] * 4


def test_an_unknown_contacts_timeline_is_404(api: httpx.Client, sessions: sessionmaker[Session]) -> None:
    answer = api.get("/api/v1/contacts/987654/events")

    assert (answer.status_code, answer.json()["detail"]) == (404, "contact 987654 not found")


def test_event_properties_are_queryable_by_name_time_window_and_value(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(
        event(1, "Order Completed", 1, properties={"revenue": 12000, "plan": "basic"}),
        event(2, "Order Completed", 30, properties={"revenue": 99000.5, "plan": "pro"}),
        event(3, "Order Completed", 60, properties={"revenue": 250000, "plan": "pro"}),
        event(4, "Refunded", 31, properties={"revenue": 99000.5}),
    )
    window = (
        Event.occurred_at >= DAY_ONE + timedelta(days=1),
        Event.occurred_at < DAY_ONE + timedelta(days=3),
    )

    with sessions() as session:
        in_window = session.scalars(
            select(Event.message_id)
            .where(Event.name == "Order Completed", *window)
            .order_by(Event.occurred_at)
        )
        assert list(in_window) == ["m-2", "m-3"]
        revenue = Event.properties["revenue"].as_float()
        big = session.scalars(select(Event.message_id).where(revenue > 50000).order_by(Event.message_id))
        assert list(big) == ["m-2", "m-3", "m-4"]
        total = session.scalar(select(func.sum(revenue)).where(Event.properties["plan"].as_string() == "pro"))
        assert total == 349000.5


def test_the_log_is_indexed_for_timelines_visitors_and_names_within_a_time_window(engine: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("events")}

    assert indexes["ix_events_contact_id_occurred_at"] == ["contact_id", "occurred_at"]
    assert indexes["ix_events_name_occurred_at"] == ["name", "occurred_at"]
    assert indexes["ix_events_anonymous_id"] == ["anonymous_id"]
