"""Helpers for the sales tests: a tracked event, and reading what was logged."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.tracking.models import Event


def track(session: Session, ctx: Context, contact_id: int, name: str, **properties: Any) -> None:
    """Logs a `track` call of the contact's, as the tracking API's resolver would, now."""
    now = ctx.clock.now()
    session.add(
        Event(
            message_id=f"test-{uuid.uuid4()}",
            contact_id=contact_id,
            type="track",
            name=name,
            properties=properties,
            context={},
            occurred_at=now,
            received_at=now,
        )
    )
    session.commit()


def logged(session: Session, *names: str) -> list[tuple[str, int | None, dict[str, Any]]]:
    """The events of these names: (message id, contact id, properties), in log order."""
    rows = session.execute(
        select(Event.message_id, Event.contact_id, Event.properties)
        .where(Event.name.in_(names))
        .order_by(Event.id)
    )
    return [(m, c, p) for m, c, p in rows]
