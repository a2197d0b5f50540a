"""/api/v1/sources: tracking sources and their write keys."""

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.tracking.resolver import IntakeStatus, intake_status, retry_failed
from funnelwise.tracking.sources import (
    IngestWarningOut,
    IntakeFailureOut,
    SourceOut,
    create_source,
    intake_failures,
    list_sources,
    revoke_source,
    source_warnings,
)

router = APIRouter(prefix="/sources", tags=["tracking"])
Read = Depends(require("tracking:read"))
Write = Depends(require("tracking:write"))


class Retried(BaseModel):
    retried: int = Field(description="Failed messages put back in the queue")


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, description="What sends the data, e.g. 'website'")


@router.get("", dependencies=[Read])
def search(session: SessionDep) -> list[SourceOut]:
    return list_sources(session)


@router.get("/intake", dependencies=[Read])
def intake(session: SessionDep) -> IntakeStatus:
    """Accepted calls not yet in the log: waiting for the worker, and failed (listed by /intake/failed)."""
    return intake_status(session)


@router.get("/intake/failed", dependencies=[Read])
def intake_failed(session: SessionDep, limit: int = Query(20, ge=1, le=1000)) -> list[IntakeFailureOut]:
    """The latest to fail first: accepted calls the worker could not log, with the error it met."""
    return intake_failures(session, limit)


@router.post("/intake/retry", dependencies=[Write])
def intake_retry(session: SessionDep) -> Retried:
    """Puts the failed calls back in the queue; the worker, woken after the answer, tries them again."""
    return Retried(retried=retry_failed(session))


@router.get("/{source_id}/warnings", dependencies=[Read])
def warnings(
    session: SessionDep, source_id: IdPath, limit: int = Query(100, ge=1, le=1000)
) -> list[IngestWarningOut]:
    """Newest first: what stored calls of this source could not do (a trait left on another
    contact, an order that could not be made), found when the worker logged them."""
    return source_warnings(session, source_id, limit)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, body: SourceIn) -> SourceOut:
    """Creates a source; its write key goes into the web tracker or the Segment SDK."""
    return create_source(session, ctx, body.name)


@router.post("/{source_id}/revoke", dependencies=[Write])
def revoke(session: SessionDep, ctx: ContextDep, source_id: IdPath) -> SourceOut:
    """Revokes the source: its write key gets 401 from now on."""
    return revoke_source(session, ctx, str(source_id))
