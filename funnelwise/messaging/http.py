"""/api/v1/outbox: every message journeys and broadcasts queued, and what became of each."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from funnelwise.api.deps import SessionDep, require
from funnelwise.messaging.outbox import OutboxStatus
from funnelwise.messaging.outbox_view import (
    MAX_LIMIT,
    OutboxMessageOut,
    OutboxPage,
    list_outbox,
    outbox_message,
)

router = APIRouter(prefix="/outbox", tags=["messaging"])


@router.get("", dependencies=[Depends(require("messaging:read"))])
def index(
    session: SessionDep,
    contact_id: Annotated[int | None, Query(ge=1)] = None,
    workflow_id: Annotated[int | None, Query(ge=1)] = None,
    broadcast_id: Annotated[int | None, Query(ge=1)] = None,
    status: OutboxStatus | None = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> OutboxPage:
    """Newest first, filtered by contact, workflow, broadcast or status; page on with `before_id`.

    With no provider configured for a channel, `rendered` shows exactly what would have been sent.
    """
    return list_outbox(
        session,
        contact_id=contact_id,
        workflow_id=workflow_id,
        broadcast_id=broadcast_id,
        status=status,
        before_id=before_id,
        limit=limit,
    )


@router.get("/{message_id}", dependencies=[Depends(require("messaging:read"))])
def show(session: SessionDep, message_id: int) -> OutboxMessageOut:
    """One message, with its reason, error, provider ids and outcome times."""
    return outbox_message(session, message_id)
