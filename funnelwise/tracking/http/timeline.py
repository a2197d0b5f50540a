"""/api/v1/contacts/{id}/events: a contact's timeline."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from funnelwise.api.deps import SessionDep, require
from funnelwise.contacts.schemas import Page
from funnelwise.tracking.timeline import EventOut, timeline

router = APIRouter(tags=["contacts"])


@router.get("/contacts/{contact_id}/events", dependencies=[Depends(require("contacts:read"))])
def events(
    session: SessionDep,
    contact_id: int,
    name: Annotated[str | None, Query(description="Only events of this name")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[EventOut]:
    """The contact's events, newest first; pass `next_cursor` back for the next page."""
    return timeline(session, contact_id, name=name, cursor=cursor, limit=limit)
