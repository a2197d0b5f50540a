"""Consent per contact, channel and topic, with the wording and version the person agreed to."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, UTCDateTime


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
