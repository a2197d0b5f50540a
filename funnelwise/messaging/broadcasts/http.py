"""/api/v1/broadcasts: define, schedule, send and cancel broadcasts; read their figures."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.messaging.broadcasts.figures import broadcast_figures
from funnelwise.messaging.broadcasts.schemas import (
    BroadcastDetail,
    BroadcastFigures,
    BroadcastIn,
    BroadcastOut,
    ScheduleIn,
)
from funnelwise.messaging.broadcasts.service import (
    cancel_broadcast,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
    schedule_broadcast,
    send_broadcast,
)

router = APIRouter(prefix="/broadcasts", tags=["messaging"])
_read = [Depends(require("messaging:read"))]
_write = [Depends(require("messaging:write"))]


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessionmaker


# Sending commits a chunk of messages at a time, so it opens its own transactions.
SessionsDep = Annotated[sessionmaker[Session], Depends(_sessions)]


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=_write)
def create(session: SessionDep, ctx: ContextDep, data: BroadcastIn) -> BroadcastOut:
    """A draft, or a scheduled broadcast when `scheduled_at` is set."""
    return create_broadcast(session, ctx, data)


@router.get("", dependencies=_read)
def index(session: SessionDep) -> list[BroadcastOut]:
    """Every broadcast, newest first."""
    return list_broadcasts(session)


@router.get("/{broadcast_id}", dependencies=_read)
def show(session: SessionDep, ctx: ContextDep, broadcast_id: IdPath) -> BroadcastDetail:
    broadcast = get_broadcast(session, broadcast_id)
    figures = broadcast_figures(session, ctx, broadcast_id)
    return BroadcastDetail(**broadcast.model_dump(), figures=figures)


@router.get("/{broadcast_id}/figures", dependencies=_read)
def figures(session: SessionDep, ctx: ContextDep, broadcast_id: IdPath) -> BroadcastFigures:
    return broadcast_figures(session, ctx, broadcast_id)


@router.post("/{broadcast_id}/send", dependencies=_write)
def send(sessions: SessionsDep, ctx: ContextDep, broadcast_id: IdPath) -> BroadcastOut:
    """Queues every message now (an A/B test's sample only); resumes one a crash interrupted."""
    return send_broadcast(sessions, ctx, broadcast_id)


@router.post("/{broadcast_id}/schedule", dependencies=_write)
def schedule(session: SessionDep, ctx: ContextDep, broadcast_id: IdPath, data: ScheduleIn) -> BroadcastOut:
    return schedule_broadcast(session, ctx, broadcast_id, data.scheduled_at)


@router.post("/{broadcast_id}/cancel", dependencies=_write)
def cancel(session: SessionDep, ctx: ContextDep, broadcast_id: IdPath) -> BroadcastOut:
    """Stops it; its messages still queued are suppressed with the reason "broadcast cancelled"."""
    return cancel_broadcast(session, ctx, broadcast_id)
