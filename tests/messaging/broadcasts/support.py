"""Helpers for the broadcast tests: templates, an audience, the outbox rows a broadcast wrote."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.messaging.templates.store import create_template
from funnelwise.segments.lists import add_members, create_list
from funnelwise.segments.schemas import ListIn, SegmentIn
from funnelwise.segments.service import create_segment
from tests.factories import make_contact

VIPS = {"property": "lifecycle_stage", "operator": "equals", "value": "customer"}


def with_settings(ctx: Context, **changes: Any) -> Context:
    """The same clock under changed settings (a small chunk size, another default hour)."""
    settings = Settings(**{**ctx.settings.model_dump(), **changes}, _env_file=None)
    return Context(settings=settings, clock=ctx.clock)


def email_template(
    session: Session, ctx: Context, name: str, subject: str = "Winter sale", **fields: Any
) -> None:
    create_template(
        session,
        ctx,
        {
            "name": name,
            "channel": "email",
            "purpose": "advertising",
            "topic": "promotions",
            "locales": {
                "ko": {"subject": subject, "html": "<p>{{ contact.first_name | fallback('고객') }}님</p>"}
            },
            **fields,
        },
    )
    session.commit()


def sms_template(session: Session, ctx: Context, name: str) -> None:
    create_template(
        session,
        ctx,
        {
            "name": name,
            "channel": "sms",
            "purpose": "informational",
            "locales": {"ko": {"text": "주문이 발송되었습니다"}},
        },
    )
    session.commit()


def customers(session: Session, ctx: Context, count: int, segment: str = "Customers") -> list[int]:
    """`count` customers and a segment of them (plus a lead who is not in it); their ids."""
    ids = [make_contact(session, ctx, lifecycle_stage="customer").id for _ in range(count)]
    make_contact(session, ctx, lifecycle_stage="lead")
    create_segment(session, ctx, SegmentIn(name=segment, condition=VIPS))
    session.commit()
    return ids


def static_list(session: Session, ctx: Context, name: str, contact_ids: list[int]) -> int:
    created = create_list(session, ctx, ListIn(name=name))
    add_members(session, ctx, created.id, contact_ids)
    session.commit()
    return created.id


@dataclass(frozen=True)
class Row:
    contact_id: int
    idempotency_key: str
    status: str
    template: str
    variant: str | None
    channel: str
    purpose: str | None
    topic: str | None
    source: str
    variables: dict[str, Any]
    due_at: datetime
    reason: str | None


def outbox(sessions: sessionmaker[Session], broadcast_id: int) -> list[Row]:
    """The broadcast's outbox rows, by contact."""
    with sessions() as session:
        rows = session.execute(
            select(
                OutboxMessage.contact_id,
                OutboxMessage.idempotency_key,
                OutboxMessage.status,
                OutboxMessage.template,
                OutboxMessage.variant,
                OutboxMessage.channel,
                OutboxMessage.purpose,
                OutboxMessage.topic,
                OutboxMessage.source,
                OutboxMessage.variables,
                OutboxMessage.due_at,
                OutboxMessage.reason,
            )
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .order_by(OutboxMessage.contact_id)
        )
        return [Row(*row) for row in rows]
