"""Reading the outbox: every message decided on, newest first, with what became of it and why."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.errors import NotFound
from funnelwise.messaging.outbox import OutboxMessage

MAX_LIMIT = 500


class OutboxMessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    idempotency_key: str
    contact_id: int
    channel: str
    template: str
    status: str
    source: str
    workflow_id: int | None
    enrollment_id: int | None
    step_id: str | None
    broadcast_id: int | None
    variant: str | None
    purpose: str | None
    topic: str | None
    variables: dict[str, Any]
    due_at: datetime
    attempts: int
    reason: str | None
    error: str | None
    recipient: str | None
    provider: str | None
    provider_message_id: str | None
    rendered: dict[str, Any] | None
    sent_at: datetime | None
    delivered_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    bounced_at: datetime | None
    complained_at: datetime | None
    unsubscribed_at: datetime | None
    created_at: datetime


class OutboxPage(BaseModel):
    results: list[OutboxMessageOut]
    next_before_id: int | None


def list_outbox(
    session: Session,
    *,
    contact_id: int | None = None,
    workflow_id: int | None = None,
    broadcast_id: int | None = None,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> OutboxPage:
    """Messages newest first; `before_id` from the previous page's `next_before_id` pages on."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit + 1)
    if contact_id is not None:
        query = query.where(OutboxMessage.contact_id == contact_id)
    if workflow_id is not None:
        query = query.where(OutboxMessage.workflow_id == workflow_id)
    if broadcast_id is not None:
        query = query.where(OutboxMessage.broadcast_id == broadcast_id)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return OutboxPage(
        results=[OutboxMessageOut.model_validate(row) for row in rows],
        next_before_id=rows[-1].id if more else None,
    )


def outbox_message(session: Session, message_id: int) -> OutboxMessageOut:
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound("outbox message", message_id)
    return OutboxMessageOut.model_validate(row)
