"""/api/v1/suppressions: the addresses nothing is sent to, listed, added and removed by hand."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from funnelwise.api.deps import ContextDep, IdQuery, SessionDep, require
from funnelwise.messaging.suppression import (
    MAX_LIMIT,
    SuppressionKind,
    SuppressionOut,
    SuppressionPage,
    SuppressionReason,
    get_suppression,
    list_suppressions,
    suppress,
    unsuppress,
)

router = APIRouter(prefix="/suppressions", tags=["messaging"])


class SuppressionIn(BaseModel):
    kind: SuppressionKind
    address: str = Field(min_length=1, max_length=320)
    reason: str = Field(default=SuppressionReason.MANUAL.value, min_length=1, max_length=32)
    detail: str | None = Field(default=None, max_length=2000)


@router.get("", dependencies=[Depends(require("messaging:read"))])
def index(
    session: SessionDep,
    kind: SuppressionKind | None = None,
    before_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> SuppressionPage:
    """Newest first; page on with `before_id`."""
    return list_suppressions(session, kind=kind, before_id=before_id, limit=limit)


@router.post("", status_code=201, dependencies=[Depends(require("messaging:write"))])
def add(body: SuppressionIn, session: SessionDep, ctx: ContextDep, response: Response) -> SuppressionOut:
    """Adds the address (201); one already on the list is answered as it is (200)."""
    added = suppress(session, ctx, body.kind, body.address, body.reason, "api", body.detail)
    if not added:
        response.status_code = 200
    return get_suppression(session, ctx, body.kind, body.address)


@router.get("/{kind}/{address}", dependencies=[Depends(require("messaging:read"))])
def show(kind: SuppressionKind, address: str, session: SessionDep, ctx: ContextDep) -> SuppressionOut:
    return get_suppression(session, ctx, kind, address)


@router.delete("/{kind}/{address}", status_code=204, dependencies=[Depends(require("messaging:write"))])
def remove(kind: SuppressionKind, address: str, session: SessionDep, ctx: ContextDep) -> None:
    unsuppress(session, ctx, kind, address)
