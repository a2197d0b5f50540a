"""The event log and what feeds it: sources with write keys, anonymous visitors, hosted forms."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class Source(Base):
    """Where tracked data comes from (a website, an app, a server); its write key authenticates it."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    write_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AnonymousProfile(Base):
    """A visitor known only by an anonymousId, until it joins a contact."""

    __tablename__ = "anonymous_profiles"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    anonymous_id: Mapped[str] = mapped_column(String(255), unique=True)
    contact_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    first_touch: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    last_touch: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """Everything that happens to a contact or an anonymous visitor, in one table."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_contact_id_occurred_at", "contact_id", "occurred_at"),
        Index("ix_events_name_occurred_at", "name", "occurred_at"),
        Index("ix_events_anonymous_id", "anonymous_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    contact_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True
    )
    anonymous_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("sources.id", ondelete="SET NULL"), nullable=True
    )
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IntakeMessage(Base):
    """A checked tracking message the API accepted, waiting for identity resolution to log it."""

    __tablename__ = "event_intake"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    # Not unique: a replay is dropped against the log, when accepted and again when resolved, and
    # a unique index over random ids would cost each accepted batch a page write per message.
    message_id: Mapped[str] = mapped_column(String(255))
    source_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("sources.id", ondelete="SET NULL"), nullable=True
    )
    # The checked message as JSON text: written once, read once, never queried inside.
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the message could not be resolved even on its own; it waits for a retry.
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class IngestWarning(Base):
    """Something a stored message could not do (a trait left on another contact, an order it
    could not make), kept for the source's owner to read."""

    __tablename__ = "ingest_warnings"
    __table_args__ = (Index("ix_ingest_warnings_source_id_id", "source_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("sources.id", ondelete="CASCADE"), nullable=True
    )
    message_id: Mapped[str] = mapped_column(String(255))
    field: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Form(Base):
    """A hosted lead-capture form: its fields, consent checkboxes and what happens after submit."""

    __tablename__ = "forms"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FormSubmission(Base):
    __tablename__ = "form_submissions"
    __table_args__ = (
        Index("ix_form_submissions_form_id_created_at", "form_id", "created_at"),
        Index("ix_form_submissions_ip_created_at", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    form_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("forms.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(512), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
