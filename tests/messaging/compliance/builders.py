"""Outbox rows and events for the compliance tests, written the way senders and the law's jobs write them."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.tracking.models import Event

LAWFUL = {
    "sender_name": "에이크미",
    "sender_contact": "02-123-4567, 서울시 중구 세종대로 1",
    "sms_optout_number": "080-500-4567",
}


def lawful(settings: Settings, **overrides: Any) -> Settings:
    """The settings with the sender's identity and opt-out number the law asks for."""
    return settings.model_copy(update={**LAWFUL, **overrides})


def make_message(
    session: Session,
    ctx: Context,
    contact_id: int,
    *,
    channel: str = "email",
    template: str = "spring-sale",
    topic: str | None = "promotions",
    purpose: str = "advertising",
    **fields: Any,
) -> OutboxMessage:
    """A message a broadcast sent to the contact."""
    now = ctx.clock.now()
    message = OutboxMessage(
        idempotency_key=f"bc-{template}-{contact_id}-{channel}",
        contact_id=contact_id,
        channel=channel,
        template=template,
        status="sent",
        source="broadcast",
        variables={},
        purpose=purpose,
        topic=topic,
        due_at=now,
        sent_at=now,
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(message)
    session.commit()
    return message


def events(session: Session, contact_id: int, *names: str) -> list[tuple[str, dict[str, Any]]]:
    query = select(Event.name, Event.properties).where(Event.contact_id == contact_id).order_by(Event.id)
    if names:
        query = query.where(Event.name.in_(names))
    return [(name, properties) for name, properties in session.execute(query)]


def outbox(session: Session, contact_id: int, template: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.contact_id == contact_id).order_by(OutboxMessage.id)
    if template:
        query = query.where(OutboxMessage.template == template)
    return list(session.scalars(query))
