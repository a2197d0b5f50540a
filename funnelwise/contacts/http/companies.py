"""/api/v1/companies: CRUD and search."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import Response

from funnelwise.api.deps import ContextDep, IdPath, IdQuery, SessionDep, require
from funnelwise.contacts.companies import (
    create_company,
    delete_company,
    get_company,
    list_companies,
    update_company,
)
from funnelwise.contacts.schemas import CompanyIn, CompanyOut, Page

router = APIRouter(prefix="/companies", tags=["companies"])
Read = Depends(require("contacts:read"))
Write = Depends(require("contacts:write"))


@router.get("", dependencies=[Read])
def search(
    session: SessionDep,
    name: Annotated[str | None, Query(description="Text in the name")] = None,
    domain: str | None = None,
    industry: str | None = None,
    owner_id: IdQuery = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[CompanyOut]:
    return list_companies(
        session, name=name, domain=domain, industry=industry, owner_id=owner_id, cursor=cursor, limit=limit
    )


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, body: CompanyIn) -> CompanyOut:
    return create_company(session, ctx, body)


@router.get("/{company_id}", dependencies=[Read])
def read(session: SessionDep, company_id: IdPath) -> CompanyOut:
    return get_company(session, company_id)


@router.patch("/{company_id}", dependencies=[Write])
def update(session: SessionDep, ctx: ContextDep, company_id: IdPath, body: CompanyIn) -> CompanyOut:
    return update_company(session, ctx, company_id, body)


@router.delete("/{company_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, company_id: IdPath) -> Response:
    """Deletes the company; its contacts stay, without a company."""
    delete_company(session, company_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
