"""/api/v1/outbox: the messages journeys queued, as a new user checks what would have been sent."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from funnelwise.api.deps import SessionDep, require
from funnelwise.messaging.outbox import OutboxStatus
from funnelwise.messaging.outbox_view import MAX_LIMIT, OutboxPage, list_outbox

router = APIRouter(prefix="/outbox", tags=["messaging"])


@router.get("", dependencies=[Depends(require("messaging:read"))])
def index(
    session: SessionDep,
    contact_id: Annotated[int | None, Query(ge=1)] = None,
    workflow_id: Annotated[int | None, Query(ge=1)] = None,
    status: OutboxStatus | None = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> OutboxPage:
    """Newest first, filtered by contact, workflow or status; page on with `before_id`."""
    return list_outbox(
        session,
        contact_id=contact_id,
        workflow_id=workflow_id,
        status=status,
        before_id=before_id,
        limit=limit,
    )
