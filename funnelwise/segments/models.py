"""Dynamic segments with their membership history, and static lists with their members."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class Segment(Base):
    """A stored condition; its members are kept up to date as events arrive and time passes."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    condition: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SegmentMembership(Base):
    """One stay of a contact in a segment: a row per stay, open (no `exited_at`) while it lasts."""

    __tablename__ = "segment_memberships"
    __table_args__ = (
        # At most one open stay per contact and segment; also the index of a segment's members.
        Index(
            "uq_segment_memberships_current",
            "segment_id",
            "contact_id",
            unique=True,
            sqlite_where=text("exited_at IS NULL"),
            postgresql_where=text("exited_at IS NULL"),
        ),
        Index("ix_segment_memberships_contact_id_segment_id", "contact_id", "segment_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    segment_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("segments.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StaticList(Base):
    """A list of contacts that changes only when someone adds or removes them."""

    __tablename__ = "static_lists"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaticListMember(Base):
    __tablename__ = "static_list_members"
    __table_args__ = (Index("ix_static_list_members_contact_id", "contact_id"),)

    list_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("static_lists.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
