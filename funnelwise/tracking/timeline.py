"""A contact's timeline: their events, newest first, a page at a time."""

import base64
import binascii
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from funnelwise.contacts.schemas import Page
from funnelwise.contacts.service import load_contact
from funnelwise.errors import InvalidInput
from funnelwise.tracking.models import Event

MAX_ID = 2**63


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    message_id: str
    type: str
    name: str
    properties: dict[str, Any]
    context: dict[str, Any]
    anonymous_id: str | None
    occurred_at: datetime
    received_at: datetime


def timeline(
    session: Session, contact_id: int, *, name: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page[EventOut]:
    """The contact's events (a merged-away id answers with the kept contact's), newest first."""
    contact = load_contact(session, contact_id)
    query = select(Event).where(Event.contact_id == contact.id)
    if name:
        query = query.where(Event.name == name)
    if cursor:
        moment, last_id = _decode(cursor)
        query = query.where(
            or_(Event.occurred_at < moment, and_(Event.occurred_at == moment, Event.id < last_id))
        )
    rows = list(session.scalars(query.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit + 1)))
    next_cursor = _encode(rows[limit - 1]) if len(rows) > limit else None
    return Page(results=[EventOut.model_validate(r) for r in rows[:limit]], next_cursor=next_cursor)


def _encode(event: Event) -> str:
    text = f"{event.occurred_at.isoformat()}|{event.id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment_text, _, id_text = text.rpartition("|")
        moment, last_id = datetime.fromisoformat(moment_text), int(id_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        moment, last_id = None, 0
    if moment is None or moment.tzinfo is None or not 0 < last_id < MAX_ID:
        raise InvalidInput.single("cursor", "not a cursor this API handed out")
    return moment, last_id
