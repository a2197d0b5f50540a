"""/api/v1/segments: define, preview, count, list members, refresh and export segments."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.contacts.exporter import check_columns
from funnelwise.contacts.schemas import Page
from funnelwise.segments.export import Audience, HashFormat, export_audience, export_hashed
from funnelwise.segments.http.csv_response import csv_download
from funnelwise.segments.schemas import (
    MemberOut,
    PreviewIn,
    PreviewOut,
    RefreshOut,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SegmentSaved,
)
from funnelwise.segments.service import (
    create_segment,
    delete_segment,
    get_segment,
    list_segments,
    preview,
    segment_members,
    update_segment,
)
from funnelwise.segments.upkeep import refresh_segment

router = APIRouter(prefix="/segments", tags=["segments"])
Read = Depends(require("segments:read"))
Write = Depends(require("segments:write"))


@router.get("", dependencies=[Read])
def index(session: SessionDep) -> list[SegmentOut]:
    return list_segments(session)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, body: SegmentIn) -> SegmentSaved:
    """Stores a segment and finds its members; names nothing defines yet come back as warnings."""
    return create_segment(session, ctx, body)


@router.post("/preview", dependencies=[Read])
def preview_unsaved(session: SessionDep, ctx: ContextDep, body: PreviewIn) -> PreviewOut:
    """How many contacts a condition matches now, and a sample of them, without saving anything."""
    return preview(session, ctx, body)


@router.get("/{segment_id}", dependencies=[Read])
def read(session: SessionDep, segment_id: IdPath) -> SegmentOut:
    return get_segment(session, segment_id)


@router.patch("/{segment_id}", dependencies=[Write])
def update(session: SessionDep, ctx: ContextDep, segment_id: IdPath, body: SegmentPatch) -> SegmentSaved:
    return update_segment(session, ctx, segment_id, body)


@router.delete("/{segment_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, segment_id: IdPath) -> Response:
    delete_segment(session, segment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{segment_id}/members", dependencies=[Read])
def members(
    session: SessionDep,
    segment_id: IdPath,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[MemberOut]:
    return segment_members(session, segment_id, cursor=cursor, limit=limit)


@router.post("/{segment_id}/refresh", dependencies=[Write])
def refresh(session: SessionDep, ctx: ContextDep, segment_id: IdPath) -> RefreshOut:
    """Re-decides the segment for every contact now (what the periodic refresh does)."""
    return refresh_segment(session, ctx, segment_id)


@router.get("/{segment_id}/export", dependencies=[Read], response_class=StreamingResponse)
def export(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    segment_id: IdPath,
    columns: Annotated[str | None, Query(description="Comma-separated; default a useful set")] = None,
    hashed: Annotated[
        HashFormat | None, Query(description="SHA-256 of email and phone for an ad platform")
    ] = None,
    korean_headers: bool = False,
) -> StreamingResponse:
    segment = get_segment(session, segment_id)
    audience = Audience("segment", segment.id)
    engine = request.app.state.engine
    if hashed is not None:
        return csv_download(export_hashed(engine, audience, hashed), f"segment-{segment.id}-{hashed}.csv")
    chosen = check_columns(
        session, ctx, [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    )
    rows = export_audience(engine, audience, chosen, korean_headers=korean_headers)
    return csv_download(rows, f"segment-{segment.id}.csv")
