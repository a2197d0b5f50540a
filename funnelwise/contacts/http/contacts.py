"""/api/v1/contacts: CRUD, search, bulk upsert, merge, CSV import and export."""

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile, status
from fastapi.responses import Response, StreamingResponse

from funnelwise.api.deps import ContextDep, IdPath, IdQuery, SessionDep, require
from funnelwise.contacts.bulk import DedupeKey, UpdatePolicy, upsert_raw
from funnelwise.contacts.exporter import check_columns, export_rows
from funnelwise.contacts.http.schemas import ContactBatchIn, ContactBatchOut, ImportOut, MergeIn
from funnelwise.contacts.importer import ImportOptions, import_contacts
from funnelwise.contacts.merge import merge_contacts
from funnelwise.contacts.schemas import ContactIn, ContactOut, Page
from funnelwise.contacts.service import (
    ContactFilter,
    create_contact,
    delete_contact,
    get_contact,
    list_contacts,
    update_contact,
)
from funnelwise.csvfile import RowError
from funnelwise.errors import InvalidInput

router = APIRouter(prefix="/contacts", tags=["contacts"])
Read = Depends(require("contacts:read"))
Write = Depends(require("contacts:write"))


def _filters(
    email: str | None = None,
    phone: str | None = None,
    user_id: str | None = None,
    company_id: IdQuery = None,
    owner_id: IdQuery = None,
    lifecycle_stage: str | None = None,
    job_level: str | None = None,
    q: Annotated[str | None, Query(description="Text in the email or name")] = None,
    updated_since: datetime | None = None,
    property: Annotated[
        list[str], Query(description="name:value, repeatable; equality on a custom property")
    ] = [],  # noqa: B006 (FastAPI copies defaults)
) -> ContactFilter:
    pairs = []
    for item in property:
        name, sep, value = item.partition(":")
        if not sep or not name:
            raise InvalidInput.single("property", f"expected name:value, got {item!r}")
        pairs.append((name, value))
    return ContactFilter(
        email=email,
        phone=phone,
        user_id=user_id,
        company_id=company_id,
        owner_id=owner_id,
        lifecycle_stage=lifecycle_stage,
        job_level=job_level,
        q=q,
        updated_since=updated_since,
        properties=tuple(pairs),
    )


FilterDep = Annotated[ContactFilter, Depends(_filters)]


@router.get("", dependencies=[Read])
def search(
    session: SessionDep,
    ctx: ContextDep,
    filters: FilterDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[ContactOut]:
    return list_contacts(session, ctx, filters, cursor=cursor, limit=limit)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, body: ContactIn) -> ContactOut:
    return create_contact(session, ctx, body)


@router.post("/batch", dependencies=[Write])
def batch_upsert(session: SessionDep, ctx: ContextDep, body: ContactBatchIn) -> ContactBatchOut:
    """Creates or updates up to 1,000 contacts; a bad item fails alone, named by its index."""
    return ContactBatchOut.of(upsert_raw(session, ctx, body.contacts, body.key, body.policy))


@router.post("/import", dependencies=[Write])
def import_csv(
    request: Request,
    ctx: ContextDep,
    file: Annotated[UploadFile, File(description="CSV, UTF-8 or CP949, English or Korean headers")],
    key: Annotated[DedupeKey, Form()] = DedupeKey.EMAIL,
    policy: Annotated[UpdatePolicy, Form()] = UpdatePolicy.OVERWRITE,
    mapping: Annotated[str, Form(description='JSON: {"column header": "field or property"}')] = "{}",
) -> ImportOut:
    try:
        columns = json.loads(mapping)
    except json.JSONDecodeError as exc:
        raise InvalidInput.single("mapping", f"malformed JSON: {exc}") from None
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise InvalidInput.single("mapping", "expected an object of column header to field name")
    errors: list[RowError] = []
    options = ImportOptions(key=key, policy=policy, mapping=columns)
    summary = import_contacts(request.app.state.sessionmaker, ctx, file.file, options, on_error=errors.append)
    return ImportOut.of(summary, errors)


@router.get("/export", dependencies=[Read], response_class=StreamingResponse)
def export_csv(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    filters: FilterDep,
    columns: Annotated[str | None, Query(description="Comma-separated; default a useful set")] = None,
    korean_headers: bool = False,
) -> StreamingResponse:
    chosen = check_columns(
        session, ctx, [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    )
    rows = export_rows(request.app.state.engine, ctx, chosen, filters, korean_headers=korean_headers)

    def with_bom():
        yield "\ufeff"
        yield from rows

    return StreamingResponse(
        with_bom(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
    )


@router.get("/{contact_id}", dependencies=[Read])
def read(session: SessionDep, contact_id: IdPath) -> ContactOut:
    """A contact; the id of a contact merged into another answers with that one."""
    return get_contact(session, contact_id)


@router.patch("/{contact_id}", dependencies=[Write])
def update(session: SessionDep, ctx: ContextDep, contact_id: IdPath, body: ContactIn) -> ContactOut:
    return update_contact(session, ctx, contact_id, body)


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, contact_id: IdPath) -> Response:
    delete_contact(session, contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{contact_id}/merge", dependencies=[Write])
def merge(session: SessionDep, ctx: ContextDep, contact_id: IdPath, body: MergeIn) -> ContactOut:
    """Folds contact `merge_id` into this one, keeping the history and properties of both."""
    return merge_contacts(session, ctx, contact_id, body.merge_id)
