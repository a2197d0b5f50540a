"""Score and grade conditions: usable in segments, and the SQL and the in-memory answers agree."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.conditions import evaluate, load_facts, matching_contacts, parse_condition
from funnelwise.context import Context
from funnelwise.errors import InvalidInput
from funnelwise.scoring.reading import current_scores
from funnelwise.scoring.upkeep import update_scores
from funnelwise.segments.schemas import SegmentIn
from funnelwise.segments.service import create_segment
from funnelwise.segments.upkeep import refresh_segment
from tests.conftest import START
from tests.factories import make_company, make_contact
from tests.scoring.support import ENGAGEMENT, FIT, apply, track_at

TREES: list[dict[str, Any]] = [
    {"score": {"model": "engagement", "gte": 5}},
    {"score": {"model": "engagement", "gt": 0, "lt": 5}},
    {"score": {"model": "engagement", "lte": 0}},
    {"not": {"score": {"model": "engagement", "gte": 5}}},
    {"score": {"model": "no such model", "gte": 0}},
    {"not": {"score": {"model": "no such model", "gte": 0}}},
    {"grade": {"model": "fit", "gte": "B"}},
    {"grade": {"model": "fit", "equals": "D"}},
    {"grade": {"model": "fit", "lte": "C"}},
    {"grade": {"model": "fit", "in": ["A", "C"]}},
    {"grade": {"model": "fit", "gte": 3}},  # fit grades by letter: a number matches nobody
    {"grade": {"model": "engagement", "gte": 2}},
    {"all": [{"grade": {"model": "fit", "gte": "B"}}, {"score": {"model": "engagement", "gte": 3}}]},
]


@pytest.fixture
def scored(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> list[int]:
    big = make_company(session, ctx, industry="software", size_band="201-500")
    people = [
        make_contact(session, ctx, job_level="executive", company_id=big.id),
        make_contact(session, ctx, job_level="manager", company_id=big.id),
        make_contact(session, ctx, job_level="staff"),
        make_contact(session, ctx),
    ]
    for day, count in ((1, 6), (3, 2), (40, 1)):
        for _ in range(count):
            track_at(
                session, ctx, clock, START - timedelta(days=day), people[count % 3].id, "Webinar Attended"
            )
    track_at(session, ctx, clock, START, people[1].id, "Unsubscribed")
    apply(sessions, ctx, ENGAGEMENT)
    apply(sessions, ctx, FIT)
    clock.advance(timedelta(days=10))
    return [person.id for person in people]


@pytest.mark.parametrize("tree", TREES, ids=[str(i) for i in range(len(TREES))])
def test_score_and_grade_leaves_agree_in_sql_and_in_memory(
    session: Session, ctx: Context, scored: list[int], tree: dict[str, Any]
) -> None:
    condition = parse_condition(tree)
    now, tz = ctx.clock.now(), ctx.settings.tz
    scores = current_scores(session, scored)

    in_memory = [
        contact_id
        for contact_id in scored
        if evaluate(
            condition, replace(load_facts(session, contact_id), extra={"scores": scores[contact_id]}), now, tz
        )
    ]

    assert matching_contacts(session, condition, now, tz) == in_memory


def test_the_leaves_pick_the_expected_contacts(session: Session, ctx: Context, scored: list[int]) -> None:
    ceo, manager, staff, nobody = scored
    now, tz = ctx.clock.now(), ctx.settings.tz

    def matching(tree: dict[str, Any]) -> list[int]:
        return matching_contacts(session, parse_condition(tree), now, tz)

    assert matching({"grade": {"model": "fit", "gte": "B"}}) == [ceo, manager]
    assert matching({"grade": {"model": "fit", "equals": "D"}}) == [staff, nobody]
    assert matching({"score": {"model": "engagement", "lte": 0}}) == [manager, nobody]


def test_a_segment_on_a_score_follows_it(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)
    apply(sessions, ctx, ENGAGEMENT)
    saved = create_segment(
        session, ctx, SegmentIn(name="Engaged", condition={"score": {"model": "engagement", "gte": 3}})
    )
    session.commit()
    assert saved.segment.member_count == 0
    track_at(session, ctx, clock, START, ada.id, "Webinar Attended")
    update_scores(session, ctx, [ada.id])
    session.commit()

    refreshed = refresh_segment(session, ctx, saved.segment.id)

    assert (refreshed.entered, refreshed.members) == (1, 1)


def test_bad_score_and_grade_leaves_are_refused_by_path() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_condition({"all": [{"score": {"model": "fit"}}, {"grade": {"model": "fit", "gte": "E"}}]})

    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("all[0].score", "give at least one of gt, gte, lt, lte"),
        ("all[1].grade.gte", "expected a grade: A, B, C, D or 4, 3, 2, 1"),
    ]
