"""Scores follow each contact's events at once, and the incremental and the full rescore agree."""

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.schemas import ContactOut
from funnelwise.context import Context
from funnelwise.scoring.models import ContactScore
from funnelwise.scoring.rescore import run_rescore
from funnelwise.scoring.service import new_version, scores_of_contact
from funnelwise.scoring.upkeep import update_scores
from tests.conftest import START
from tests.factories import make_company, make_contact
from tests.scoring.support import ENGAGEMENT, FIT, apply, logged, track_at

T0 = START.isoformat()


def _stored(session: Session) -> dict[tuple[int, int], dict[str, float]]:
    rows = session.execute(select(ContactScore.version_id, ContactScore.contact_id, ContactScore.by_rule))
    return {(v, c): {name: round(points, 9) for name, points in by_rule.items()} for v, c, by_rule in rows}


def _scores_now(session: Session, ctx: Context, people: list[ContactOut]) -> dict[int, list[float]]:
    return {p.id: [round(s.score, 9) for s in scores_of_contact(session, ctx, p.id)] for p in people}


def test_an_event_moves_the_score_once_and_the_change_names_its_rules(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)
    saved = apply(sessions, ctx, ENGAGEMENT)
    track_at(session, ctx, clock, START, ada.id, "Page Viewed", seconds=75)

    changes = update_scores(session, ctx, [ada.id, 987654])
    again = update_scores(session, ctx, [ada.id])
    session.commit()

    assert [(c.contact_id, c.previous_score, c.score, c.grade, c.rules) for c in changes] == [
        (ada.id, 0, 2, "1", ["page visit", "read a page"])
    ]
    assert again == []
    model_id = saved.model.id
    assert logged(session) == [
        (
            f"score-{model_id}-{ada.id}-{T0}",
            ada.id,
            {
                "model_id": model_id,
                "model_name": "engagement",
                "version": 1,
                "previous_score": 0.0,
                "score": 2.0,
                "previous_grade": "1",
                "grade": "1",
                "rules": ["page visit", "read a page"],
            },
        )
    ]


def test_an_unsubscribe_takes_points_away(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)
    for _ in range(4):
        track_at(session, ctx, clock, START, ada.id, "Webinar Attended")
    apply(sessions, ctx, ENGAGEMENT)
    track_at(session, ctx, clock, START, ada.id, "Unsubscribed")

    [change] = update_scores(session, ctx, [ada.id])

    scores = (round(change.previous_score, 9), round(change.score, 9))
    assert (scores, change.previous_grade, change.grade) == ((12, 2), "2", "1")
    assert change.rules == ["unsubscribed"]


def test_incremental_upkeep_and_a_full_rescore_compute_the_same_scores(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    shuffle = random.Random(5)
    company = make_company(session, ctx, industry="software", size_band="501-1000")
    people = [
        make_contact(session, ctx, job_level=shuffle.choice(["staff", "manager", "head", "executive", None]),
                     company_id=company.id if shuffle.random() < 0.5 else None)
        for _ in range(8)
    ]  # fmt: skip
    names = ["Page Viewed", "Page Viewed", "Webinar Attended", "Unsubscribed", "Email Opened"]

    def some_events(days: int) -> None:
        for person in people:
            for _ in range(shuffle.randrange(0, 12)):
                at = clock.now() - timedelta(
                    days=shuffle.uniform(0, days), seconds=shuffle.randrange(0, 86_400)
                )
                track_at(
                    session,
                    ctx,
                    clock,
                    at,
                    person.id,
                    shuffle.choice(names),
                    seconds=shuffle.choice([10, 61, 90]),
                )

    some_events(120)
    apply(sessions, ctx, ENGAGEMENT)
    apply(sessions, ctx, FIT)
    after_rescore = _stored(session)

    assert update_scores(session, ctx, [p.id for p in people]) == []
    session.commit()
    assert _stored(session) == after_rescore

    clock.advance(timedelta(days=20))
    some_events(20)
    update_scores(session, ctx, [p.id for p in people])
    session.commit()
    incremental = _scores_now(session, ctx, people)
    session.rollback()  # SQLite: a reading session holds the writer's lock until it ends
    with sessions.begin() as writing:
        version = new_version(writing, ctx, 1)
    rebuilt = run_rescore(sessions, ctx, version.id)

    # The new version weighs events from a new reference time; the scores now must not differ.
    assert rebuilt.changed == 0
    assert _scores_now(session, ctx, people) == incremental
    assert sorted({score for scores in incremental.values() for score in scores})[-1] > 5


def test_upkeep_also_keeps_a_version_that_is_being_built(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)
    apply(sessions, ctx, ENGAGEMENT)
    session.rollback()
    with sessions.begin() as writing:
        building = new_version(writing, ctx, 1)
    track_at(session, ctx, clock, START, ada.id, "Webinar Attended")

    update_scores(session, ctx, [ada.id])
    session.commit()

    assert _stored(session) == {(1, ada.id): {"webinar": 3.0}, (building.id, ada.id): {"webinar": 3.0}}
    session.rollback()
    outcome = run_rescore(sessions, ctx, building.id)
    assert (outcome.state, outcome.scored, outcome.changed) == ("current", 1, 0)
