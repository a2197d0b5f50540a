"""Helpers for the scoring tests: a model from a dict, events at given times, stored and logged scores."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.scoring.rescore import run_pending_rescores
from funnelwise.scoring.schemas import ScoreModelIn, ScoreModelSaved
from funnelwise.scoring.service import apply_model
from funnelwise.tracking.log import record_event
from funnelwise.tracking.models import Event

ENGAGEMENT: dict[str, Any] = {
    "name": "engagement",
    "half_life_days": 30,
    "grades": {"scale": "number", "thresholds": {4: 30, 3: 15, 2: 5}},
    "rules": [
        {"name": "page visit", "condition": {"event": "Page Viewed"}, "points": 1,
         "limit": {"points": 5, "per_days": 30}},
        {"name": "read a page", "points": 1, "condition": {"event": "Page Viewed", "where": [
            {"property": "seconds", "operator": "gt", "value": 60}]}},
        {"name": "webinar", "condition": {"event": "Webinar Attended"}, "points": 3},
        {"name": "unsubscribed", "condition": {"event": "Unsubscribed"}, "points": -10},
    ],
}  # fmt: skip

FIT: dict[str, Any] = {
    "name": "fit",
    "cap": 10,
    "grades": {"scale": "letter", "thresholds": {"A": 7, "B": 4, "C": 2}},
    "rules": [
        {"name": "staff", "condition": {"property": "job_level", "operator": "equals", "value": "staff"}, "points": 1},
        {"name": "manager", "condition": {"property": "job_level", "operator": "equals", "value": "manager"},
         "points": 2},
        {"name": "head", "condition": {"property": "job_level", "operator": "equals", "value": "head"}, "points": 3},
        {"name": "executive", "condition": {"property": "job_level", "operator": "equals", "value": "executive"},
         "points": 4},
        {"name": "software", "condition": {"company": "industry", "operator": "equals", "value": "software"},
         "points": 3},
        {"name": "big company", "condition": {"company": "size_band", "operator": "in",
                                               "value": ["201-500", "501-1000"]}, "points": 4},
    ],
}  # fmt: skip


def track_at(
    session: Session,
    ctx: Context,
    clock: SimulatedClock,
    at: datetime,
    contact_id: int,
    name: str,
    **properties: Any,
) -> None:
    """Logs an event that happened at `at`, and puts the clock back where it was."""
    now = clock.now()
    clock.set(at)
    record_event(session, ctx, contact_id, name, properties)
    session.commit()
    clock.set(now)


def apply(
    sessions: sessionmaker[Session], ctx: Context, definition: dict[str, Any], *, allow_unknown: bool = True
) -> ScoreModelSaved:
    """Applies a model and runs its rescore, as `funnelwise score apply` does."""
    with sessions.begin() as session:
        saved = apply_model(
            session, ctx, ScoreModelIn.model_validate(definition), allow_unknown=allow_unknown
        )
    run_pending_rescores(sessions, ctx)
    return saved


def logged(session: Session) -> list[tuple[str, int | None, dict[str, Any]]]:
    """The Score Changed events: (message id, contact id, properties), in log order."""
    rows = session.execute(
        select(Event.message_id, Event.contact_id, Event.properties)
        .where(Event.name == "Score Changed")
        .order_by(Event.id)
    )
    return [tuple(row) for row in rows]
