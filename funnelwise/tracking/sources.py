"""Tracking sources and their write keys (public by design: they sit in web pages and apps)."""

import secrets
import string
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.errors import InvalidInput, NotFound
from funnelwise.tracking.models import IngestWarning, IntakeMessage, Source

# Letters and digits only: a key may start with any of them, and one starting with "-" would be
# read as an option by `funnelwise source revoke KEY`. 32 of 62 symbols: 190 random bits.
_KEY_ALPHABET = string.ascii_letters + string.digits
_KEY_LENGTH = 32


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    write_key: str
    created_at: datetime
    revoked_at: datetime | None


def create_source(session: Session, ctx: Context, name: str) -> SourceOut:
    if not name.strip():
        raise InvalidInput.single("name", "a source needs a name, for example 'website'")
    write_key = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(_KEY_LENGTH))
    source = Source(name=name.strip(), write_key=write_key, created_at=ctx.clock.now())
    session.add(source)
    session.flush()
    return SourceOut.model_validate(source)


def list_sources(session: Session) -> list[SourceOut]:
    return [SourceOut.model_validate(s) for s in session.scalars(select(Source).order_by(Source.id))]


def revoke_source(session: Session, ctx: Context, key: str) -> SourceOut:
    """Revokes a source named by its id or write key; its key is refused from now on."""
    condition = Source.write_key == key
    if key.isdigit():
        condition = or_(condition, Source.id == int(key))
    source = session.scalar(select(Source).where(condition))
    if source is None:
        raise NotFound("source", key)
    if source.revoked_at is None:
        source.revoked_at = ctx.clock.now()
        session.flush()
    return SourceOut.model_validate(source)


def source_for_write_key(session: Session, write_key: str) -> int | None:
    """The id of the live source with this write key, or None."""
    return session.scalar(select(Source.id).where(Source.write_key == write_key, Source.revoked_at.is_(None)))


class IngestWarningOut(BaseModel):
    """What one stored message could not do, as the worker found when it logged it."""

    model_config = ConfigDict(from_attributes=True)

    message_id: str
    field: str
    message: str
    created_at: datetime


def source_warnings(session: Session, source_id: int, limit: int = 100) -> list[IngestWarningOut]:
    """The source's newest ingest warnings first."""
    if session.get(Source, source_id) is None:
        raise NotFound("source", source_id)
    found = session.scalars(
        select(IngestWarning)
        .where(IngestWarning.source_id == source_id)
        .order_by(IngestWarning.id.desc())
        .limit(limit)
    )
    return [IngestWarningOut.model_validate(w) for w in found]


class IntakeFailureOut(BaseModel):
    """An accepted message the worker could not log even on its own; it waits for a retry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: str
    source_id: int | None
    received_at: datetime
    failed_at: datetime
    error: str


def intake_failures(session: Session, limit: int = 20) -> list[IntakeFailureOut]:
    """The intake's failed messages, the latest to fail first."""
    found = session.scalars(
        select(IntakeMessage)
        .where(IntakeMessage.failed_at.is_not(None))
        .order_by(IntakeMessage.failed_at.desc(), IntakeMessage.id.desc())
        .limit(limit)
    )
    return [IntakeFailureOut.model_validate(m) for m in found]
