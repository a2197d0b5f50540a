"""/api/v1/sales/pipelines and /api/v1/sales/deals: deals moving through stages, amounts in KRW."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, status

from funnelwise.api.deps import ContextDep, IdPath, IdQuery, SessionDep, require
from funnelwise.contacts.schemas import Page
from funnelwise.sales.deals import (
    create_deal,
    create_pipeline,
    default_pipeline,
    get_deal,
    get_pipeline,
    list_deals,
    list_pipelines,
    move_deal,
    set_stage_probability,
    update_deal,
)
from funnelwise.sales.schemas import DealIn, DealMoveIn, DealOut, DealPatch, PipelineIn, PipelineOut

router = APIRouter(prefix="/sales", tags=["deals"])
Read = Depends(require("sales:read"))
Write = Depends(require("sales:write"))


@router.get("/pipelines", dependencies=[Read])
def pipelines(session: SessionDep) -> list[PipelineOut]:
    return list_pipelines(session)


@router.post("/pipelines", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def pipeline_create(session: SessionDep, ctx: ContextDep, body: PipelineIn) -> PipelineOut:
    """A pipeline of stages in order, each with a probability; it needs open, won and lost stages."""
    return create_pipeline(session, ctx, body)


@router.post("/pipelines/default", dependencies=[Write])
def pipeline_default(session: SessionDep, ctx: ContextDep) -> PipelineOut:
    """The standard pipeline (Qualified → Meeting → Proposal → Negotiation → Closed Won / Lost)."""
    return default_pipeline(session, ctx)


@router.get("/pipelines/{pipeline_id}", dependencies=[Read])
def pipeline_read(session: SessionDep, pipeline_id: IdPath) -> PipelineOut:
    return get_pipeline(session, pipeline_id)


@router.put("/pipelines/{pipeline_id}/stages/{key}/probability", dependencies=[Write])
def pipeline_probability(
    session: SessionDep, pipeline_id: IdPath, key: str, probability: Annotated[int, Body(embed=True)]
) -> PipelineOut:
    return set_stage_probability(session, pipeline_id, key, probability)


@router.get("/deals", dependencies=[Read])
def deals(
    session: SessionDep,
    pipeline_id: IdQuery = None,
    stage: str | None = None,
    owner_id: IdQuery = None,
    company_id: IdQuery = None,
    contact_id: IdQuery = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[DealOut]:
    return list_deals(
        session,
        pipeline_id=pipeline_id,
        stage=stage,
        owner_id=owner_id,
        company_id=company_id,
        contact_id=contact_id,
        cursor=cursor,
        limit=limit,
    )


@router.post("/deals", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def deal_create(session: SessionDep, ctx: ContextDep, body: DealIn) -> DealOut:
    return create_deal(session, ctx, body)


@router.get("/deals/{deal_id}", dependencies=[Read])
def deal_read(session: SessionDep, deal_id: IdPath) -> DealOut:
    return get_deal(session, deal_id)


@router.patch("/deals/{deal_id}", dependencies=[Write])
def deal_update(session: SessionDep, ctx: ContextDep, deal_id: IdPath, body: DealPatch) -> DealOut:
    return update_deal(session, ctx, deal_id, body)


@router.post("/deals/{deal_id}/move", dependencies=[Write])
def deal_move(session: SessionDep, ctx: ContextDep, deal_id: IdPath, body: DealMoveIn) -> DealOut:
    """Moves the deal to a stage of its pipeline; Closed Lost needs a `close_reason`."""
    return move_deal(session, ctx, deal_id, body)
