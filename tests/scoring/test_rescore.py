"""A rule change builds a new version; readers see the old scores until it switches, never a mix."""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.scoring.models import ContactScore
from funnelwise.scoring.rescore import run_pending_rescores, run_rescore
from funnelwise.scoring.schemas import ScoreModelIn
from funnelwise.scoring.service import apply_model, get_model, scores_of_contact
from tests.conftest import START
from tests.factories import make_contact
from tests.scoring.support import ENGAGEMENT, apply, logged, track_at

WEBINAR_WORTH_MORE = ENGAGEMENT | {
    "rules": [{**rule, "points": 5} if rule["name"] == "webinar" else rule for rule in ENGAGEMENT["rules"]]
}


def _scores(session: Session, ctx: Context, ids: list[int]) -> list[float]:
    found = [round(scores_of_contact(session, ctx, contact_id)[0].score, 6) for contact_id in ids]
    session.rollback()  # SQLite: a reading session holds the writer's lock until it ends
    return found


def test_readers_see_the_old_scores_until_the_new_version_is_complete(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    people = [make_contact(session, ctx) for _ in range(5)]
    for person in people[:3]:
        track_at(session, ctx, clock, START, person.id, "Webinar Attended")
    track_at(session, ctx, clock, START, people[3].id, "Page Viewed", seconds=5)
    saved = apply(sessions, ctx, ENGAGEMENT)
    ids = [p.id for p in people]
    with sessions.begin() as writing:
        changed = apply_model(
            writing, ctx, ScoreModelIn.model_validate(WEBINAR_WORTH_MORE), allow_unknown=True
        )
    assert changed.model.building is not None
    seen, progress = [], []

    def watch(done: int, total: int) -> None:
        progress.append((done, total))
        seen.append(_scores(session, ctx, ids))

    outcome = run_rescore(sessions, ctx, changed.model.building.id, chunk=2, on_progress=watch)

    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert seen == [[3, 3, 3, 1, 0]] * 3
    assert _scores(session, ctx, ids) == [5, 5, 5, 1, 0]
    assert (outcome.version, outcome.state, outcome.contacts, outcome.scored, outcome.changed) == (
        2, "current", 5, 4, 3,
    )  # fmt: skip
    model = get_model(session, saved.model.id)
    assert (model.current and model.current.version, model.building) == (2, None)
    assert session.scalar(select(func.count()).select_from(ContactScore)) == 4
    switched = [p for m, c, p in logged(session) if p["version"] == 2]
    assert switched == [
        {"model_id": saved.model.id, "model_name": "engagement", "version": 2, "previous_score": 3.0, "score": 5.0,
         "previous_grade": "1", "grade": "2", "rules": ["webinar"]}
        for _ in range(3)
    ]  # fmt: skip


def test_an_unchanged_definition_builds_no_version_and_a_newer_one_supersedes_a_building_one(
    sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    apply(sessions, ctx, ENGAGEMENT)
    with sessions.begin() as writing:
        same = apply_model(
            writing,
            ctx,
            ScoreModelIn.model_validate(ENGAGEMENT | {"description": "new words"}),
            allow_unknown=True,
        )
        first = apply_model(writing, ctx, ScoreModelIn.model_validate(WEBINAR_WORTH_MORE), allow_unknown=True)
        second = apply_model(
            writing, ctx, ScoreModelIn.model_validate(ENGAGEMENT | {"cap": 50}), allow_unknown=True
        )

    assert (same.model.building, same.model.description) == (None, "new words")
    assert first.model.building is not None and second.model.building is not None
    assert (first.model.building.version, second.model.building.version) == (2, 3)
    [done] = run_pending_rescores(sessions, ctx)
    assert (done.version, done.state) == (3, "current")
    assert run_rescore(sessions, ctx, first.model.building.id).state == "failed"


def test_time_bound_property_rules_are_decided_anew_by_a_rescore(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)
    new = {"name": "new", "condition": {"property": "created_at", "operator": "within_last_days", "value": 7},
           "points": 10}  # fmt: skip
    saved = apply(sessions, ctx, {"name": "freshness", "rules": [new]})
    assert _scores(session, ctx, [ada.id]) == [10]

    clock.advance(timedelta(days=9))
    with sessions.begin() as writing:
        from funnelwise.scoring.service import new_version

        version = new_version(writing, ctx, saved.model.id)
    outcome = run_rescore(sessions, ctx, version.id)

    assert (outcome.changed, _scores(session, ctx, [ada.id])) == (1, [0])
    assert logged(session)[-1][2]["rules"] == ["new"]
