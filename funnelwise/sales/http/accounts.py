"""/api/v1/accounts/{company_id}: a company with its people, engagement, deals and scores rolled up."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.sales.accounts import account
from funnelwise.sales.schemas import AccountOut

router = APIRouter(prefix="/accounts", tags=["accounts"])
Read = Depends(require("sales:read"))


@router.get("/{company_id}", dependencies=[Read])
def read(
    session: SessionDep,
    ctx: ContextDep,
    company_id: IdPath,
    days: Annotated[int, Query(ge=1, le=3660, description="The engagement window")] = 30,
    min_events: Annotated[int, Query(ge=1, le=10_000, description="Events in it that make one engaged")] = 1,
) -> AccountOut:
    return account(session, ctx, company_id, days=days, min_events=min_events)
