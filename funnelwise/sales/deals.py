"""Deals moving through pipelines of stages, each with the chance that a deal in it closes won."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.commerce.money import currency_code, parse_amount, to_minor
from funnelwise.contacts.models import Company, Contact
from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.schemas import Page
from funnelwise.context import Context
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from funnelwise.sales.log import DEAL_STAGE_CHANGED
from funnelwise.sales.models import Deal, DealStageChange, Pipeline, PipelineStage
from funnelwise.sales.schemas import (
    DealIn,
    DealMoveIn,
    DealOut,
    DealPatch,
    PipelineIn,
    PipelineOut,
    PipelineStageIn,
    PipelineStageOut,
)
from funnelwise.tracking.log import SystemEvent, record_events

DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES = (
    PipelineStageIn(key="qualified", name="Qualified", probability=10),
    PipelineStageIn(key="meeting", name="Meeting", probability=20),
    PipelineStageIn(key="proposal", name="Proposal", probability=50),
    PipelineStageIn(key="negotiation", name="Negotiation", probability=80),
    PipelineStageIn(key="closed_won", name="Closed Won", probability=100, outcome="won"),
    PipelineStageIn(key="closed_lost", name="Closed Lost", probability=0, outcome="lost"),
)
OPEN, WON, LOST = "open", "won", "lost"


# Pipelines


def create_pipeline(session: Session, ctx: Context, data: PipelineIn) -> PipelineOut:
    """A pipeline of stages in the order given; it needs an open, a won and a lost stage."""
    keys = [stage.key for stage in data.stages]
    errors = [
        FieldError(f"stages[{i}].key", f"stage key {key!r} appears twice")
        for i, key in enumerate(keys)
        if key in keys[:i]
    ]
    outcomes = {stage.outcome for stage in data.stages}
    errors += [
        FieldError("stages", f"a pipeline needs at least one {outcome} stage")
        for outcome in (OPEN, WON, LOST)
        if outcome not in outcomes
    ]
    if errors:
        raise InvalidInput(errors)
    pipeline = Pipeline(name=data.name, created_at=ctx.clock.now())
    if not write_or_undo(session, lambda: session.add(pipeline)):
        raise Conflict("name", f"a pipeline named {data.name!r} exists already")
    session.add_all(
        PipelineStage(pipeline_id=pipeline.id, position=position, **stage.model_dump())
        for position, stage in enumerate(data.stages)
    )
    session.flush()
    return _pipeline_out(session, pipeline)


def default_pipeline(session: Session, ctx: Context) -> PipelineOut:
    """The pipeline named Sales, made with the standard stages the first time it is needed."""
    found = session.scalar(select(Pipeline).where(Pipeline.name == DEFAULT_PIPELINE))
    if found is not None:
        return _pipeline_out(session, found)
    try:
        return create_pipeline(session, ctx, PipelineIn(name=DEFAULT_PIPELINE, stages=list(DEFAULT_STAGES)))
    except Conflict:  # another request made it just now
        return _pipeline_out(
            session, session.scalars(select(Pipeline).where(Pipeline.name == DEFAULT_PIPELINE)).one()
        )


def list_pipelines(session: Session) -> list[PipelineOut]:
    return [_pipeline_out(session, p) for p in session.scalars(select(Pipeline).order_by(Pipeline.id))]


def get_pipeline(session: Session, pipeline_id: int) -> PipelineOut:
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("pipeline", pipeline_id)
    return _pipeline_out(session, pipeline)


def set_stage_probability(session: Session, pipeline_id: int, key: str, probability: int) -> PipelineOut:
    if not 0 <= probability <= 100:
        raise InvalidInput.single("probability", f"expected a whole number from 0 to 100, got {probability}")
    stage = _stage(session, pipeline_id, key)
    stage.probability = probability
    session.flush()
    return get_pipeline(session, pipeline_id)


# Deals


def create_deal(session: Session, ctx: Context, data: DealIn) -> DealOut:
    """A deal in its pipeline's first stage unless one is named; owner and company follow the contact."""
    errors: list[FieldError] = []
    currency, amount = _money(errors, data.amount, data.currency)
    pipeline_id = data.pipeline_id if data.pipeline_id is not None else default_pipeline(session, ctx).id
    contact = session.get(Contact, data.contact_id) if data.contact_id is not None else None
    company_id = data.company_id if data.company_id is not None else (contact.company_id if contact else None)
    company = session.get(Company, company_id) if company_id is not None else None
    owner_id = data.owner_id
    if owner_id is None:
        owner_id = (contact.owner_id if contact else None) or (company.owner_id if company else None)
    errors += _missing(session, data, contact, company, pipeline_id)
    if errors:
        raise InvalidInput(errors)
    stage = _stage(session, pipeline_id, data.stage) if data.stage else _first_stage(session, pipeline_id)
    now = ctx.clock.now()
    deal = Deal(
        name=data.name,
        pipeline_id=pipeline_id,
        stage_id=stage.id,
        amount_minor=amount,
        currency=currency,
        contact_id=data.contact_id,
        company_id=company_id,
        owner_id=owner_id,
        expected_close_on=data.expected_close_on,
        closed_at=now if stage.outcome != OPEN else None,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    session.flush()
    _moved(session, deal, None, stage, now)
    return _deal_out(deal, stage)


def update_deal(session: Session, ctx: Context, deal_id: int, data: DealPatch) -> DealOut:
    deal = _load(session, deal_id)
    errors: list[FieldError] = []
    if data.amount is not None:
        _currency, deal.amount_minor = _money(errors, data.amount, deal.currency)
    if data.owner_id is not None and session.get(User, data.owner_id) is None:
        errors.append(FieldError("owner_id", f"no user with id {data.owner_id}"))
    if errors:
        raise InvalidInput(errors)
    for name in ("name", "owner_id", "expected_close_on"):
        if (value := getattr(data, name)) is not None:
            setattr(deal, name, value)
    deal.updated_at = ctx.clock.now()
    session.flush()
    return _deal_out(deal, session.get_one(PipelineStage, deal.stage_id))


def move_deal(session: Session, ctx: Context, deal_id: int, data: DealMoveIn) -> DealOut:
    """Moves a deal to a stage of its pipeline; a lost deal needs a close reason."""
    deal = session.get(Deal, deal_id, with_for_update=True, populate_existing=True)
    if deal is None:
        raise NotFound("deal", deal_id)
    stage = _stage(session, deal.pipeline_id, data.stage)
    reason = (data.close_reason or "").strip() or None
    if stage.outcome == LOST and reason is None and deal.close_reason is None:
        raise InvalidInput.single(
            "close_reason", "a lost deal needs a close reason, e.g. 'price' or 'timing'"
        )
    if stage.id == deal.stage_id:
        return _deal_out(deal, stage)
    previous = session.get_one(PipelineStage, deal.stage_id)
    now = ctx.clock.now()
    deal.stage_id = stage.id
    deal.closed_at = now if stage.outcome != OPEN else None
    if reason is not None:
        deal.close_reason = reason
    deal.updated_at = now
    session.flush()
    _moved(session, deal, previous, stage, now)
    return _deal_out(deal, stage)


def contact_deal_named(
    session: Session, contact_id: int, name: str, pipeline_id: int | None = None
) -> DealOut | None:
    """The contact's oldest deal of this name (in this pipeline, when one is given), or None."""
    query = (
        select(Deal, PipelineStage)
        .join(PipelineStage, PipelineStage.id == Deal.stage_id)
        .where(Deal.contact_id == contact_id, Deal.name == name)
        .order_by(Deal.id)
        .limit(1)
    )
    if pipeline_id is not None:
        query = query.where(Deal.pipeline_id == pipeline_id)
    found = session.execute(query).first()
    return _deal_out(found[0], found[1]) if found is not None else None


def get_deal(session: Session, deal_id: int) -> DealOut:
    deal = _load(session, deal_id)
    return _deal_out(deal, session.get_one(PipelineStage, deal.stage_id))


def list_deals(
    session: Session,
    *,
    pipeline_id: int | None = None,
    stage: str | None = None,
    owner_id: int | None = None,
    company_id: int | None = None,
    contact_id: int | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[DealOut]:
    query = (
        select(Deal, PipelineStage)
        .join(PipelineStage, PipelineStage.id == Deal.stage_id)
        .order_by(Deal.id)
        .limit(limit + 1)
    )
    filters: list[Any] = [
        column == value
        for column, value in (
            (Deal.pipeline_id, pipeline_id),
            (PipelineStage.key, stage),
            (Deal.owner_id, owner_id),
            (Deal.company_id, company_id),
            (Deal.contact_id, contact_id),
        )
        if value is not None
    ]
    if cursor:
        filters.append(Deal.id > decode_cursor(cursor))
    rows = session.execute(query.where(*filters)).all()
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return Page(results=[_deal_out(deal, found) for deal, found in rows[:limit]], next_cursor=next_cursor)


def weighted(amount: int, probability: int) -> int:
    """The amount times the stage's probability, rounded half up to a whole minor unit."""
    return (amount * probability + 50) // 100


def _money(errors: list[FieldError], amount: Any, currency: str) -> tuple[str, int]:
    try:
        code = currency_code(currency)
    except ValueError as exc:
        errors.append(FieldError("currency", str(exc)))
        return "KRW", 0
    try:
        return code, to_minor(parse_amount(amount), code)
    except ValueError as exc:
        errors.append(FieldError("amount", str(exc)))
        return code, 0


def _missing(
    session: Session, data: DealIn, contact: Contact | None, company: Company | None, pipeline_id: int
) -> list[FieldError]:
    errors = []
    if data.contact_id is not None and contact is None:
        errors.append(FieldError("contact_id", f"no contact with id {data.contact_id}"))
    if data.company_id is not None and company is None:
        errors.append(FieldError("company_id", f"no company with id {data.company_id}"))
    if data.owner_id is not None and session.get(User, data.owner_id) is None:
        errors.append(FieldError("owner_id", f"no user with id {data.owner_id}"))
    if session.get(Pipeline, pipeline_id) is None:
        errors.append(FieldError("pipeline_id", f"no pipeline with id {pipeline_id}"))
    return errors


def _moved(
    session: Session, deal: Deal, previous: PipelineStage | None, stage: PipelineStage, now: Any
) -> None:
    session.add(
        DealStageChange(
            deal_id=deal.id,
            from_stage_id=previous.id if previous else None,
            to_stage_id=stage.id,
            changed_at=now,
        )
    )
    session.flush()
    if deal.contact_id is None:
        return
    properties = {
        "deal_id": deal.id,
        "deal_name": deal.name,
        "from_stage": previous.key if previous else None,
        "to_stage": stage.key,
        "outcome": stage.outcome,
        "amount": deal.amount_minor,
        "currency": deal.currency,
    }
    if deal.close_reason and stage.outcome != OPEN:
        properties["close_reason"] = deal.close_reason
    record_events(
        session,
        [
            SystemEvent(
                message_id=f"deal-{deal.id}-{stage.key}-{now.isoformat()}",
                contact_id=deal.contact_id,
                name=DEAL_STAGE_CHANGED,
                at=now,
                properties=properties,
            )
        ],
    )


def _stage(session: Session, pipeline_id: int, key: str) -> PipelineStage:
    stage = session.scalar(
        select(PipelineStage).where(PipelineStage.pipeline_id == pipeline_id, PipelineStage.key == key)
    )
    if stage is None:
        keys = session.scalars(
            select(PipelineStage.key)
            .where(PipelineStage.pipeline_id == pipeline_id)
            .order_by(PipelineStage.position)
        )
        raise InvalidInput.single(
            "stage", f"pipeline {pipeline_id} has no stage {key!r}; expected one of {', '.join(keys)}"
        )
    return stage


def _first_stage(session: Session, pipeline_id: int) -> PipelineStage:
    return session.scalars(
        select(PipelineStage)
        .where(PipelineStage.pipeline_id == pipeline_id, PipelineStage.outcome == OPEN)
        .order_by(PipelineStage.position)
        .limit(1)
    ).one()


def _load(session: Session, deal_id: int) -> Deal:
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise NotFound("deal", deal_id)
    return deal


def _pipeline_out(session: Session, pipeline: Pipeline) -> PipelineOut:
    stages = session.scalars(
        select(PipelineStage).where(PipelineStage.pipeline_id == pipeline.id).order_by(PipelineStage.position)
    )
    return PipelineOut(
        id=pipeline.id, name=pipeline.name, stages=[PipelineStageOut.model_validate(s) for s in stages]
    )


def _deal_out(deal: Deal, stage: PipelineStage) -> DealOut:
    return DealOut(
        id=deal.id,
        name=deal.name,
        pipeline_id=deal.pipeline_id,
        stage=stage.key,
        stage_name=stage.name,
        probability=stage.probability,
        outcome=stage.outcome,
        amount=deal.amount_minor,
        currency=deal.currency,
        weighted_amount=weighted(deal.amount_minor, stage.probability),
        contact_id=deal.contact_id,
        company_id=deal.company_id,
        owner_id=deal.owner_id,
        expected_close_on=deal.expected_close_on,
        close_reason=deal.close_reason,
        closed_at=deal.closed_at,
        created_at=deal.created_at,
        updated_at=deal.updated_at,
    )
