"""/api/v1/sources: tracking sources and their write keys."""

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from funnelwise.api.deps import ContextDep, SessionDep, require
from funnelwise.tracking.sources import SourceOut, create_source, list_sources, revoke_source

router = APIRouter(prefix="/sources", tags=["tracking"])
Read = Depends(require("tracking:read"))
Write = Depends(require("tracking:write"))


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, description="What sends the data, e.g. 'website'")


@router.get("", dependencies=[Read])
def search(session: SessionDep) -> list[SourceOut]:
    return list_sources(session)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, body: SourceIn) -> SourceOut:
    """Creates a source; its write key goes into the web tracker or the Segment SDK."""
    return create_source(session, ctx, body.name)


@router.post("/{source_id}/revoke", dependencies=[Write])
def revoke(session: SessionDep, ctx: ContextDep, source_id: int) -> SourceOut:
    """Revokes the source: its write key gets 401 from now on."""
    return revoke_source(session, ctx, str(source_id))
