"""Outbox rows as the sender leaves them once an email has gone, and the events logged about them."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.tracking.models import Event


def sent_email(session: Session, ctx: Context, contact_id: int, **fields: Any) -> OutboxMessage:
    now = ctx.clock.now()
    fields.setdefault("idempotency_key", f"bc-7-{contact_id}-{fields.get('variant') or 'a'}")
    message = OutboxMessage(
        contact_id=contact_id,
        channel="email",
        template=fields.pop("template", "november-news"),
        status=OutboxStatus.SENT.value,
        source="broadcast",
        broadcast_id=fields.pop("broadcast_id", 7),
        variant=fields.pop("variant", "a"),
        due_at=now,
        sent_at=now,
        provider="smtp",
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(message)
    session.commit()
    return message


def events_named(session: Session, name: str) -> list[tuple[int, dict[str, Any]]]:
    rows = session.execute(
        select(Event.contact_id, Event.properties).where(Event.name == name).order_by(Event.id)
    )
    return [(row.contact_id, row.properties) for row in rows]
