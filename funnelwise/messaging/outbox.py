"""The message outbox: every message a journey or broadcast decided to send, once.

A send step writes its row in the transaction that moves the enrollment on, under an idempotency
key naming the enrollment and step (`wf-<enrollment>-<seq>`), so a step that runs again writes
nothing new. A sender delivers rows; with no provider configured they stay here, for the API to
show what would have been sent.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class OutboxStatus(StrEnum):
    """queued → sending → sent, or failed (with the reason), suppressed (with the reason, never sent),
    or unknown: a crash came between the provider taking it and our recording that (not retried)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    UNKNOWN = "unknown"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    # Partial indexes: a row is claimed, then recorded, so each update writes as few index entries
    # as the questions asked of it need (what is due, what a dead worker left, what a report names).
    __table_args__ = (
        Index(
            "ix_outbox_messages_due",
            "due_at",
            "id",
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
        Index(
            "ix_outbox_messages_sending",
            "updated_at",
            postgresql_where=text("status = 'sending'"),
            sqlite_where=text("status = 'sending'"),
        ),
        Index(
            "ix_outbox_messages_provider_message_id",
            "provider_message_id",
            postgresql_where=text("provider_message_id IS NOT NULL"),
            sqlite_where=text("provider_message_id IS NOT NULL"),
        ),
        Index(
            "ix_outbox_messages_broadcast_id",
            "broadcast_id",
            postgresql_where=text("broadcast_id IS NOT NULL"),
            sqlite_where=text("broadcast_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    contact_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    workflow_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True)
    enrollment_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True)
    step_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    variables: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    broadcast_id: Mapped[int | None] = mapped_column(BigIntId, nullable=True)
    variant: Mapped[str | None] = mapped_column(String(64), nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(16), nullable=True)
    topic: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Not before this time: a throttled broadcast, a night-time hold or a best hour set it later.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Why it waits (night-time hold, quiet hours, best hour) or why it was suppressed or failed.
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    recipient: Mapped[str | None] = mapped_column(String(320), nullable=True)
    provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # What was rendered, kept by the development outbox so a new user sees what would have gone out.
    rendered: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
