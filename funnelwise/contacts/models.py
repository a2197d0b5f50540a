"""Contacts, companies, their extra identities and the typed property definitions."""

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    domain: Mapped[str | None] = mapped_column(String(255), unique=True)
    # The groupId a tracking source knows the company by.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    industry: Mapped[str | None] = mapped_column(String(255))
    size_band: Mapped[str | None] = mapped_column(String(32))
    owner_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Contact(Base):
    __tablename__ = "contacts"
    # A merged-away id keeps resolving to the kept contact, so SQLite must never hand it out again.
    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    user_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    job_title: Mapped[str | None] = mapped_column(String(255))
    job_level: Mapped[str | None] = mapped_column(String(16))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(32), index=True)
    owner_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    company_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    first_touch: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    last_touch: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ContactIdentity(Base):
    """A further key that resolves to a contact: a second email, a merged-away id, a device."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PropertyDefinition(Base):
    __tablename__ = "property_definitions"
    __table_args__ = (UniqueConstraint("object_type", "name"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[Any]] = mapped_column(JSONDoc, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
