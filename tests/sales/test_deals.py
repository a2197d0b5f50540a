"""Deals move through a pipeline's stages; amounts are in won; a lost deal says why."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput
from funnelwise.sales.deals import (
    create_deal,
    create_pipeline,
    default_pipeline,
    list_deals,
    move_deal,
    update_deal,
)
from funnelwise.sales.models import DealStageChange
from funnelwise.sales.schemas import DealIn, DealMoveIn, DealPatch, PipelineIn
from tests.factories import make_company, make_contact, make_user
from tests.sales.support import logged


def test_a_deal_starts_in_the_standard_pipeline_and_follows_its_contact(
    session: Session, ctx: Context
) -> None:
    rep = make_user(session, ctx)
    company = make_company(session, ctx, domain="acme.co.kr")
    ada = make_contact(session, ctx, email="ada@acme.co.kr", owner_id=rep.id)

    deal = create_deal(
        session, ctx, DealIn(name="Acme annual plan", amount="12,000,000원", contact_id=ada.id)
    )

    pipeline = default_pipeline(session, ctx)
    assert [(s.key, s.probability, s.outcome) for s in pipeline.stages] == [
        ("qualified", 10, "open"), ("meeting", 20, "open"), ("proposal", 50, "open"),
        ("negotiation", 80, "open"), ("closed_won", 100, "won"), ("closed_lost", 0, "lost"),
    ]  # fmt: skip
    assert (deal.pipeline_id, deal.stage, deal.amount, deal.currency, deal.weighted_amount) == (
        pipeline.id, "qualified", 12_000_000, "KRW", 1_200_000,
    )  # fmt: skip
    assert (deal.company_id, deal.owner_id, deal.closed_at) == (company.id, rep.id, None)


def test_a_deal_moves_forward_is_won_and_every_move_is_kept_and_logged(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)
    deal = create_deal(session, ctx, DealIn(name="Pilot", amount=5_000_000, contact_id=ada.id))

    proposal = move_deal(session, ctx, deal.id, DealMoveIn(stage="proposal"))
    won = move_deal(session, ctx, deal.id, DealMoveIn(stage="closed_won"))
    session.commit()

    assert (proposal.probability, proposal.weighted_amount) == (50, 2_500_000)
    assert (won.outcome, won.closed_at, won.weighted_amount) == ("won", clock.now(), 5_000_000)
    assert len(session.scalars(select(DealStageChange)).all()) == 3
    assert [p["to_stage"] for _m, _c, p in logged(session, "Deal Stage Changed")] == [
        "qualified",
        "proposal",
        "closed_won",
    ]


def test_a_lost_deal_needs_a_close_reason(session: Session, ctx: Context) -> None:
    deal = create_deal(session, ctx, DealIn(name="Pilot", amount=1000))

    with pytest.raises(InvalidInput) as no_reason:
        move_deal(session, ctx, deal.id, DealMoveIn(stage="closed_lost"))
    lost = move_deal(session, ctx, deal.id, DealMoveIn(stage="closed_lost", close_reason="price"))
    reopened = move_deal(session, ctx, deal.id, DealMoveIn(stage="negotiation"))

    assert str(no_reason.value) == "close_reason: a lost deal needs a close reason, e.g. 'price' or 'timing'"
    assert (lost.outcome, lost.close_reason) == ("lost", "price")
    assert (reopened.outcome, reopened.closed_at) == ("open", None)


def test_a_custom_pipeline_has_its_own_stages_and_probabilities(session: Session, ctx: Context) -> None:
    pipeline = create_pipeline(session, ctx, PipelineIn(name="Renewals", stages=[
        {"key": "due", "name": "Renewal due", "probability": 70},
        {"key": "renewed", "name": "Renewed", "probability": 100, "outcome": "won"},
        {"key": "churned", "name": "Churned", "probability": 0, "outcome": "lost"},
    ]))  # fmt: skip
    deal = create_deal(session, ctx, DealIn(name="Acme renewal", amount=3_000_000, pipeline_id=pipeline.id))

    with pytest.raises(InvalidInput) as foreign:
        move_deal(session, ctx, deal.id, DealMoveIn(stage="proposal"))
    with pytest.raises(Conflict):
        create_pipeline(session, ctx, PipelineIn(name="Renewals", stages=pipeline.stages and [
            {"key": "a", "name": "A", "probability": 1}, {"key": "b", "name": "B", "probability": 100, "outcome": "won"},
            {"key": "c", "name": "C", "probability": 0, "outcome": "lost"}]))  # fmt: skip

    assert (deal.stage, deal.weighted_amount) == ("due", 2_100_000)
    assert str(foreign.value) == (
        f"stage: pipeline {pipeline.id} has no stage 'proposal'; expected one of due, renewed, churned"
    )


def test_a_pipeline_needs_unique_keys_and_a_way_to_win_and_to_lose(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as bad:
        create_pipeline(session, ctx, PipelineIn(name="Broken", stages=[
            {"key": "a", "name": "A", "probability": 10}, {"key": "a", "name": "A again", "probability": 20},
        ]))  # fmt: skip

    assert str(bad.value) == (
        "stages[1].key: stage key 'a' appears twice; stages: a pipeline needs at least one won stage; "
        "stages: a pipeline needs at least one lost stage"
    )


def test_amounts_are_read_like_shop_prices_and_bad_ones_are_refused(session: Session, ctx: Context) -> None:
    deal = create_deal(session, ctx, DealIn(name="Pilot", amount="₩39,000"))
    changed = update_deal(session, ctx, deal.id, DealPatch(amount=49000.4))

    with pytest.raises(InvalidInput) as bad:
        create_deal(session, ctx, DealIn(name="Pilot", amount="lots", currency="XYZ", contact_id=999))

    assert (deal.amount, changed.amount) == (39000, 49000)
    assert [e.field for e in bad.value.errors] == ["currency", "contact_id"]


def test_deals_are_listed_by_stage_and_owner(session: Session, ctx: Context) -> None:
    rep = make_user(session, ctx)
    mine = create_deal(session, ctx, DealIn(name="Mine", amount=1, owner_id=rep.id))
    create_deal(session, ctx, DealIn(name="Other", amount=1, stage="meeting"))

    assert [d.id for d in list_deals(session, owner_id=rep.id).results] == [mine.id]
    assert [d.name for d in list_deals(session, stage="meeting").results] == ["Other"]
