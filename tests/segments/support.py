"""Helpers for the segment tests: tracking an event, reading memberships and the logged changes."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.segments.models import SegmentMembership
from funnelwise.tracking.log import record_event
from funnelwise.tracking.models import Event


def track(session: Session, ctx: Context, contact_id: int, name: str, **properties: Any) -> None:
    record_event(session, ctx, contact_id, name, properties)
    session.commit()


def stays(session: Session, segment_id: int) -> list[tuple[int, str, str | None]]:
    """Every stay in the segment: (contact id, entered at, exited at) as ISO text, oldest first."""
    rows = session.execute(
        select(SegmentMembership.contact_id, SegmentMembership.entered_at, SegmentMembership.exited_at)
        .where(SegmentMembership.segment_id == segment_id)
        .order_by(SegmentMembership.id)
    )
    return [(c, entered.isoformat(), exited.isoformat() if exited else None) for c, entered, exited in rows]


def logged(session: Session, *names: str) -> list[tuple[str, int | None, dict[str, Any], str]]:
    """The events of these names: (message id, contact id, properties, occurred at), in log order."""
    rows = session.execute(
        select(Event.message_id, Event.contact_id, Event.properties, Event.occurred_at)
        .where(Event.name.in_(names))
        .order_by(Event.id)
    )
    return [(m, c, p, at.isoformat()) for m, c, p, at in rows]
