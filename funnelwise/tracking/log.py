"""Appending to the event log from inside the application."""

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from funnelwise.commerce.models import Order
from funnelwise.context import Context
from funnelwise.reactions.queue import mark_due
from funnelwise.tracking.models import AnonymousProfile, Event

SYSTEM = "system"


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
