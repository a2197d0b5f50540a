"""The message outbox: every message a journey or broadcast decided to send, once.

A send step writes its row in the transaction that moves the enrollment on, under an idempotency
key naming the enrollment and step (`wf-<enrollment>-<seq>`), so a step that runs again writes
nothing new. A sender delivers rows; with no provider configured they stay here, for the API to
show what would have been sent.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_created_at", "status", "created_at"),)

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
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
