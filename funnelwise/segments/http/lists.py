"""/api/v1/lists: static lists, their members by id, email or user id, by CSV, and export."""

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status
from fastapi.responses import Response, StreamingResponse

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.contacts.exporter import check_columns
from funnelwise.contacts.schemas import Page
from funnelwise.segments.export import Audience, HashFormat, export_audience, export_hashed
from funnelwise.segments.http.csv_response import csv_download
from funnelwise.segments.lists import (
    add_members,
    contact_ids_of,
    create_list,
    delete_list,
    get_list,
    import_members,
    list_lists,
    list_members,
    remove_members,
)
from funnelwise.segments.schemas import ListChangeOut, ListImportOut, ListIn, ListOut, MemberOut, MembersIn

router = APIRouter(prefix="/lists", tags=["lists"])
Read = Depends(require("segments:read"))
Write = Depends(require("segments:write"))
CsvFile = Annotated[UploadFile, File(description="CSV with a contact_id, email or user_id column")]


@router.get("", dependencies=[Read])
def index(session: SessionDep) -> list[ListOut]:
    return list_lists(session)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, body: ListIn) -> ListOut:
    return create_list(session, ctx, body)


@router.get("/{list_id}", dependencies=[Read])
def read(session: SessionDep, list_id: IdPath) -> ListOut:
    return get_list(session, list_id)


@router.delete("/{list_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, list_id: IdPath) -> Response:
    delete_list(session, list_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{list_id}/members", dependencies=[Read])
def members(
    session: SessionDep,
    list_id: IdPath,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[MemberOut]:
    return list_members(session, list_id, cursor=cursor, limit=limit)


@router.post("/{list_id}/members", dependencies=[Write])
def add(session: SessionDep, ctx: ContextDep, list_id: IdPath, body: MembersIn) -> ListChangeOut:
    """Adds contacts named by id, email or user id; names that find no contact are listed back."""
    ids, missing = contact_ids_of(session, body)
    change = add_members(session, ctx, list_id, ids)
    return change.model_copy(update={"not_found": missing})


@router.post("/{list_id}/members/remove", dependencies=[Write])
def remove(session: SessionDep, ctx: ContextDep, list_id: IdPath, body: MembersIn) -> ListChangeOut:
    ids, missing = contact_ids_of(session, body)
    change = remove_members(session, ctx, list_id, ids)
    return change.model_copy(update={"not_found": missing})


@router.post("/{list_id}/import", dependencies=[Write])
def import_csv(
    session: SessionDep, ctx: ContextDep, list_id: IdPath, file: CsvFile, remove: bool = False
) -> ListImportOut:
    """Adds (with `remove=true`, removes) the contacts a CSV names; bad rows come back by line number."""
    return import_members(session, ctx, list_id, file.file, remove=remove)


@router.get("/{list_id}/export", dependencies=[Read], response_class=StreamingResponse)
def export(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    list_id: IdPath,
    columns: Annotated[str | None, Query(description="Comma-separated; default a useful set")] = None,
    hashed: Annotated[
        HashFormat | None, Query(description="SHA-256 of email and phone for an ad platform")
    ] = None,
    korean_headers: bool = False,
) -> StreamingResponse:
    found = get_list(session, list_id)
    audience = Audience("list", found.id)
    engine = request.app.state.engine
    if hashed is not None:
        return csv_download(export_hashed(engine, audience, hashed), f"list-{found.id}-{hashed}.csv")
    chosen = check_columns(
        session, ctx, [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    )
    return csv_download(
        export_audience(engine, audience, chosen, korean_headers=korean_headers), f"list-{found.id}.csv"
    )
