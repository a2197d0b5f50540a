"""Consent (per contact, channel and topic), message templates, the suppression list and broadcasts."""

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class Consent(Base):
    """The current consent of one contact for one channel and topic; its history is in the event log."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("contact_id", "channel", "topic"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    wording: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The law asks advertisers to reconfirm consent every two years: when the last notice went out.
    reconfirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MessageTemplate(Base):
    """A message for one channel, with a variant per locale.

    `content` is what the user wrote, by locale: `{"ko": {"subject", "html", "text", "body", "title",
    "kakao_template_code", "buttons", "data"}}`. `compiled` is the same after checks and CSS inlining,
    what rendering uses.
    """

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(64))
    default_locale: Mapped[str] = mapped_column(String(35))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    compiled: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Suppression(Base):
    """An address nothing is ever sent to again: a hard bounce, a complaint, or added by hand.

    `kind` is `email` or `phone`; the address is normalised (lower-case email, E.164 phone).
    """

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("kind", "address"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Broadcast(Base):
    """A one-off or scheduled send of a template to a segment or list, optionally A/B tested first.

    `ab` when set: `{"variants": [{"name", "template"}], "sample_percent", "metric": "open"|"click",
    "wait_hours"}`; the winner goes to the rest. Status: draft, scheduled, sending, testing (waiting
    for the winner), sent, cancelled.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(255))
    segment_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("segments.id", ondelete="SET NULL"), nullable=True
    )
    list_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("static_lists.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    throttle_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    send_time_optimization: Mapped[bool] = mapped_column(Boolean, default=False)
    ab: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    winner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    conversion_event: Mapped[str | None] = mapped_column(String(255), nullable=True)
    audience: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    tested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
