"""Appending to the event log from inside the application."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from funnelwise.commerce.models import Order
from funnelwise.context import Context
from funnelwise.db.arrays import insert_ignoring
from funnelwise.db.dialect import dialect_name, insert
from funnelwise.reactions.queue import mark_due
from funnelwise.tracking.models import AnonymousProfile, Event

SYSTEM = "system"
# From this many events on, PostgreSQL takes them as one array per column (a batch of sends).
ARRAYS_FROM = 100


@dataclass(frozen=True)
class SystemEvent:
    """A change the application logs, under a message id that names it, so a retry stores it once."""

    message_id: str
    contact_id: int
    name: str
    at: datetime
    properties: dict[str, Any]


def record_event(
    session: Session,
    ctx: Context,
    contact_id: int,
    name: str,
    properties: dict[str, Any],
    *,
    message_id: str | None = None,
) -> None:
    """Logs something the application itself did to a contact (a merge, a stage change, …)."""
    now = ctx.clock.now()
    session.add(
        Event(
            message_id=message_id or f"fw-{uuid.uuid4()}",
            contact_id=contact_id,
            type=SYSTEM,
            name=name,
            properties=properties,
            context={},
            occurred_at=now,
            received_at=now,
        )
    )
    mark_due(session, ctx, [contact_id])


def record_events(session: Session, events: Sequence[SystemEvent]) -> None:
    """One event each, in one statement; an event whose message id is logged already is skipped.

    The contacts are not queued for reactions: the reactions themselves write these.
    """
    if not events:
        return
    rows = [
        {
            "message_id": event.message_id,
            "contact_id": event.contact_id,
            "type": SYSTEM,
            "name": event.name,
            "properties": event.properties,
            "context": {},
            "occurred_at": event.at,
            "received_at": event.at,
        }
        for event in events
    ]
    table = Event.__table__
    if len(rows) >= ARRAYS_FROM and dialect_name(session) == "postgresql":
        insert_ignoring(session, table, rows, "message_id")
        return
    statement = insert(session, table).on_conflict_do_nothing(index_elements=["message_id"])
    session.execute(statement, rows)


def reassign_events(session: Session, from_contact_id: int, to_contact_id: int) -> int:
    """Moves one contact's whole history, devices and orders to another; returns how many events moved."""
    result = session.execute(
        update(Event).where(Event.contact_id == from_contact_id).values(contact_id=to_contact_id)
    )
    session.execute(
        update(AnonymousProfile)
        .where(AnonymousProfile.contact_id == from_contact_id)
        .values(contact_id=to_contact_id)
    )
    session.execute(update(Order).where(Order.contact_id == from_contact_id).values(contact_id=to_contact_id))
    return result.rowcount
