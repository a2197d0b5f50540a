"""Helpers for the sales tests: tracking an event, and reading what was logged."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.tracking.log import record_event
from funnelwise.tracking.models import Event


def track(session: Session, ctx: Context, contact_id: int, name: str, **properties: Any) -> None:
    record_event(session, ctx, contact_id, name, properties)
    session.commit()


def logged(session: Session, *names: str) -> list[tuple[str, int | None, dict[str, Any]]]:
    """The events of these names: (message id, contact id, properties), in log order."""
    rows = session.execute(
        select(Event.message_id, Event.contact_id, Event.properties)
        .where(Event.name.in_(names))
        .order_by(Event.id)
    )
    return [(m, c, p) for m, c, p in rows]
