"""Accounts: a company with its people rolled up — stages, owners, recent engagement, deals and scores.

A member is *engaged* when they did at least `min_events` things (tracked events, not the ones
Funnelwise logs itself) in the last `days` days. The *buying committee* is the people with a job
level of manager or above (`job_level` manager, head or executive), the ones a B2B deal needs.
Scores come from the scoring package when it is installed: each member's current score and grade
per model, and per model the sum, average and maximum over the members.
"""

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.contacts.job_levels import JobLevel
from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.db.dialect import one_of
from funnelwise.errors import NotFound
from funnelwise.sales.deals import LOST, OPEN, WON, weighted
from funnelwise.sales.models import Deal, PipelineStage
from funnelwise.sales.schemas import AccountOut, DealTotals, MemberEngagement
from funnelwise.tracking.log import SYSTEM
from funnelwise.tracking.models import Event

COMMITTEE_LEVELS = (JobLevel.MANAGER.value, JobLevel.HEAD.value, JobLevel.EXECUTIVE.value)
# An account view lists its people; beyond this many the roll-up still counts all of them.
MAX_MEMBERS = 500


def account(
    session: Session, ctx: Context, company_id: int, *, days: int = 30, min_events: int = 1
) -> AccountOut:
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound("company", company_id)
    now = ctx.clock.now()
    contacts = session.execute(
        select(Contact.id, Contact.email, Contact.job_level, Contact.lifecycle_stage, Contact.owner_id)
        .where(Contact.company_id == company_id)
        .order_by(Contact.id)
    ).all()
    ids = [row.id for row in contacts]
    events = _recent_events(session, ids, now - timedelta(days=days))
    scores = _scores(session, ids, now)
    members = [
        MemberEngagement(
            contact_id=row.id,
            email=row.email,
            job_level=row.job_level,
            lifecycle_stage=row.lifecycle_stage,
            owner_id=row.owner_id,
            events=events.get(row.id, 0),
            engaged=events.get(row.id, 0) >= min_events,
            in_buying_committee=row.job_level in COMMITTEE_LEVELS,
            scores=scores.get(row.id) if scores is not None else None,
        )
        for row in contacts
    ]
    stages = Counter(row.lifecycle_stage or "none" for row in contacts)
    owners = Counter(str(row.owner_id) if row.owner_id is not None else "none" for row in contacts)
    committee = [m for m in members if m.in_buying_committee]
    return AccountOut(
        company_id=company.id,
        name=company.name,
        domain=company.domain,
        owner_id=company.owner_id,
        contacts=len(members),
        stages=dict(sorted(stages.items())),
        owners=dict(sorted(owners.items())),
        window_days=days,
        events=sum(events.values()),
        engaged_contacts=sum(m.engaged for m in members),
        buying_committee=len(committee),
        engaged_buying_committee=sum(m.engaged for m in committee),
        deals=_deal_totals(session, company_id),
        scores=_score_rollup(scores) if scores is not None else None,
        members=members[:MAX_MEMBERS],
    )


def _recent_events(session: Session, ids: list[int], since: datetime) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(Event.contact_id, func.count())
        .where(one_of(session, Event.contact_id, ids), Event.occurred_at >= since, Event.type != SYSTEM)
        .group_by(Event.contact_id)
    )
    return {contact_id: count for contact_id, count in rows}


def _deal_totals(session: Session, company_id: int) -> DealTotals:
    rows = session.execute(
        select(PipelineStage.outcome, PipelineStage.probability, Deal.amount_minor)
        .join(PipelineStage, PipelineStage.id == Deal.stage_id)
        .where(Deal.company_id == company_id)
    ).all()
    open_deals = [(probability, amount) for outcome, probability, amount in rows if outcome == OPEN]
    won = [amount for outcome, _probability, amount in rows if outcome == WON]
    return DealTotals(
        open=len(open_deals),
        open_amount=sum(amount for _p, amount in open_deals),
        weighted_amount=sum(weighted(amount, probability) for probability, amount in open_deals),
        won=len(won),
        won_amount=sum(won),
        lost=sum(1 for outcome, _p, _a in rows if outcome == LOST),
    )


def _scores(session: Session, ids: list[int], now: datetime) -> dict[int, dict[str, Any]] | None:
    """Each member's score and grade per model; None when the scoring package is not there.

    The hook to the scoring package: it is imported here, not at the top, so that accounts work
    in an installation (or a checkout) without it.
    """
    try:
        from funnelwise.scoring.reading import current_scores
    except ImportError:
        return None
    stored = current_scores(session, ids)
    return {
        contact_id: {
            name: {"score": round(score.at(now), 2), "grade": score.grade_at(now)}
            for name, score in models.items()
        }
        for contact_id, models in stored.items()
    }


def _score_rollup(scores: dict[int, dict[str, Any]]) -> dict[str, Any]:
    by_model: dict[str, list[float]] = {}
    for models in scores.values():
        for name, value in models.items():
            by_model.setdefault(name, []).append(value["score"])
    return {
        name: {
            "sum": round(sum(values), 2),
            "average": round(sum(values) / len(values), 2),
            "max": max(values),
        }
        for name, values in sorted(by_model.items())
    }
