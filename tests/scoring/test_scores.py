"""Scores follow the rules exactly: points per occurrence within limits, decay, caps and grades."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.scoring.service import explain, scores_of_contact
from tests.conftest import START
from tests.factories import make_company, make_contact
from tests.scoring.support import FIT, apply, track_at

PERIOD = 30 * 86_400
# The start of the 30-day limit period that holds START (periods count from 1970-01-01 UTC).
BOUNDARY = datetime.fromtimestamp(START.timestamp() // PERIOD * PERIOD, UTC)


def _score(session: Session, ctx: Context, contact_id: int) -> dict[str, tuple[float, str | None]]:
    return {s.model_name: (round(s.score, 6), s.grade) for s in scores_of_contact(session, ctx, contact_id)}


def test_a_limit_counts_the_first_points_of_each_period_and_the_one_that_reaches_it_in_part(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)
    track_at(session, ctx, clock, BOUNDARY - timedelta(hours=1), ada.id, "Page Viewed")
    for hour in range(1, 5):
        track_at(session, ctx, clock, BOUNDARY + timedelta(hours=hour), ada.id, "Page Viewed")
    rule = {
        "name": "visit",
        "condition": {"event": "Page Viewed"},
        "points": 2,
        "limit": {"points": 5, "per_days": 30},
    }
    saved = apply(sessions, ctx, {"name": "visits", "rules": [rule]})

    explained = explain(session, ctx, saved.model.id, ada.id)

    assert [(c.occurred_at, c.counted) for c in explained.contributions] == [
        (BOUNDARY - timedelta(hours=1), 2),
        (BOUNDARY + timedelta(hours=1), 2),
        (BOUNDARY + timedelta(hours=2), 2),
        (BOUNDARY + timedelta(hours=3), 1),
    ]
    assert explained.score == 7
    assert _score(session, ctx, ada.id) == {"visits": (7, None)}


def test_event_points_halve_every_half_life_and_property_points_do_not(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx, job_level="manager")
    track_at(session, ctx, clock, START, ada.id, "Webinar Attended")
    rules = [
        {"name": "webinar", "condition": {"event": "Webinar Attended"}, "points": 4},
        {"name": "manager", "condition": {"property": "job_level", "operator": "equals", "value": "manager"},
         "points": 2},
    ]  # fmt: skip
    apply(sessions, ctx, {"name": "engagement", "half_life_days": 30, "rules": rules})

    seen = [_score(session, ctx, ada.id)]
    clock.advance(timedelta(days=30))
    seen.append(_score(session, ctx, ada.id))
    clock.advance(timedelta(days=30))
    seen.append(_score(session, ctx, ada.id))

    assert seen == [{"engagement": (6, None)}, {"engagement": (4, None)}, {"engagement": (3, None)}]


def test_a_cap_bounds_the_score_and_grades_follow_their_thresholds(
    sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    big = make_company(session, ctx, industry="software", size_band="201-500")
    small = make_company(session, ctx, industry="retail", size_band="1-10")
    ceo = make_contact(session, ctx, job_level="executive", company_id=big.id)
    head = make_contact(session, ctx, job_level="head", company_id=small.id)
    staff = make_contact(session, ctx, job_level="staff")
    nobody = make_contact(session, ctx)
    apply(sessions, ctx, FIT | {"cap": 8})

    assert [_score(session, ctx, c.id) for c in (ceo, head, staff, nobody)] == [
        {"fit": (8, "A")},
        {"fit": (3, "C")},
        {"fit": (1, "D")},
        {"fit": (0, "D")},
    ]
    explained = explain(session, ctx, 1, ceo.id)
    assert (explained.total_before_cap, explained.cap, explained.score) == (11, 8, 8)
    assert [(c.rule, c.kind, c.points) for c in explained.contributions] == [
        ("executive", "property", 4),
        ("software", "property", 3),
        ("big company", "property", 4),
    ]
