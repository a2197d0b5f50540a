"""What happens to a contact reaches its segments through the worker's queue, and time through a refresh."""

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.bulk import DedupeKey, UpdatePolicy, upsert_raw
from funnelwise.contacts.schemas import ContactIn
from funnelwise.contacts.service import update_contact
from funnelwise.context import Context
from funnelwise.reactions.models import DueContact
from funnelwise.reactions.periodic import refresh_stale_segments
from funnelwise.reactions.run import queue_status, react_all, react_pending
from funnelwise.sales.lifecycle import create_stage_rule
from funnelwise.sales.schemas import StageRuleIn
from funnelwise.segments.lists import add_members, create_list, remove_members
from funnelwise.segments.schemas import ListIn, SegmentIn
from funnelwise.segments.service import create_segment
from funnelwise.tracking.log import record_event
from tests.factories import make_contact
from tests.scoring.support import ENGAGEMENT, apply
from tests.segments.support import logged, stays

PRICING = {"event": "Page Viewed", "where": [{"property": "path", "operator": "starts_with", "value": "/pricing"}],
           "within_last_days": 14}  # fmt: skip
IN_SEOUL = {"property": "locale", "operator": "equals", "value": "ko-KR"}


def _segment(session: Session, ctx: Context, name: str, condition: dict) -> int:
    saved = create_segment(session, ctx, SegmentIn(name=name, condition=condition))
    session.commit()
    return saved.segment.id


def _members(session: Session, segment_id: int) -> list[int]:
    session.expire_all()
    members = [contact_id for contact_id, _, exited in stays(session, segment_id) if exited is None]
    session.commit()  # SQLite: the test's reads must not hold the writer the worker needs
    return members


def _due(session: Session) -> int:
    due = queue_status(session).due
    session.commit()
    return due


def test_a_logged_event_queues_its_contact_and_the_worker_puts_it_in_the_segment(
    session: Session, sessions: sessionmaker[Session], ctx: Context
) -> None:
    segment_id = _segment(session, ctx, "Pricing viewers", PRICING)
    ada = make_contact(session, ctx)
    record_event(session, ctx, ada.id, "Page Viewed", {"path": "/pricing"})
    session.commit()
    assert _members(session, segment_id) == []
    assert _due(session) == 1

    assert react_all(sessions, ctx) == 1

    assert _members(session, segment_id) == [ada.id]
    assert [row[1] for row in logged(session, "Segment Entered")] == [ada.id]
    assert _due(session) == 0
    assert react_pending(sessions, ctx).claimed == 0


def test_a_property_edit_moves_the_contact_out_and_back_in(
    session: Session, sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    segment_id = _segment(session, ctx, "Seoul", IN_SEOUL)
    ada = make_contact(session, ctx, locale="ko-KR")
    react_all(sessions, ctx)

    update_contact(session, ctx, ada.id, ContactIn(locale="en-US"))
    session.commit()
    react_all(sessions, ctx)
    assert _members(session, segment_id) == []

    clock.advance(timedelta(minutes=1))
    update_contact(session, ctx, ada.id, ContactIn(locale="ko-KR"))
    session.commit()
    react_all(sessions, ctx)
    assert _members(session, segment_id) == [ada.id]
    assert [row[1] for row in logged(session, "Segment Entered", "Segment Exited")] == [ada.id] * 3


def test_list_changes_reach_segments_built_on_the_list(
    session: Session, sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    vip = create_list(session, ctx, ListIn(name="VIP"))
    segment_id = _segment(session, ctx, "VIP in Seoul", {"all": [IN_SEOUL, {"in_list": "VIP"}]})
    ada = make_contact(session, ctx, locale="ko-KR")
    react_all(sessions, ctx)
    assert _members(session, segment_id) == []

    add_members(session, ctx, vip.id, [ada.id])
    session.commit()
    react_all(sessions, ctx)
    assert _members(session, segment_id) == [ada.id]

    clock.advance(timedelta(minutes=1))
    remove_members(session, ctx, vip.id, [ada.id])
    session.commit()
    react_all(sessions, ctx)
    assert _members(session, segment_id) == []


def test_an_import_larger_than_the_bulk_threshold_is_decided_by_one_set_based_refresh(
    session: Session, sessions: sessionmaker[Session], ctx: Context
) -> None:
    segment_id = _segment(session, ctx, "Seoul", IN_SEOUL)
    rows = [{"email": f"p{n}@example.org", "locale": "ko-KR" if n % 2 else "en-US"} for n in range(30)]
    upsert_raw(session, ctx, rows, DedupeKey.EMAIL, UpdatePolicy.OVERWRITE)
    session.commit()
    assert _due(session) == 30

    done = react_pending(sessions, ctx, bulk_from=10)

    assert (done.claimed, done.segment_changes) == (30, 15)
    assert len(_members(session, segment_id)) == 15
    assert session.scalar(select(func.count()).select_from(DueContact)) == 0
    assert len(logged(session, "Segment Entered")) == 15


def test_segments_that_change_with_time_alone_are_refreshed_once_they_are_stale(
    session: Session, sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    segment_id = _segment(session, ctx, "Pricing viewers", PRICING)
    ada = make_contact(session, ctx)
    record_event(session, ctx, ada.id, "Page Viewed", {"path": "/pricing"})
    session.commit()
    react_all(sessions, ctx)
    every = timedelta(hours=1)

    clock.advance(timedelta(minutes=30))
    assert refresh_stale_segments(sessions, ctx, every) == 0  # refreshed when created, 30 minutes ago

    clock.advance(timedelta(days=15))
    assert refresh_stale_segments(sessions, ctx, every) == 1
    assert refresh_stale_segments(sessions, ctx, every) == 0
    assert _members(session, segment_id) == []
    assert [row[1] for row in logged(session, "Segment Exited")] == [ada.id]


def test_workers_racing_on_the_queue_decide_each_contact_once(
    session: Session, sessions: sessionmaker[Session], ctx: Context
) -> None:
    segment_id = _segment(session, ctx, "Pricing viewers", PRICING)
    people = [make_contact(session, ctx) for _ in range(40)]
    for person in people:
        for _ in range(3):
            record_event(session, ctx, person.id, "Page Viewed", {"path": "/pricing"})
    session.commit()

    workers = [threading.Thread(target=react_all, args=(sessions, ctx)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(_members(session, segment_id)) == sorted(p.id for p in people)
    assert sorted(row[1] for row in logged(session, "Segment Entered")) == sorted(p.id for p in people)
    assert _due(session) == 0


def test_a_stage_rule_moves_the_contact_before_segments_that_read_the_stage_are_decided(
    session: Session, sessions: sessionmaker[Session], ctx: Context
) -> None:
    create_stage_rule(
        session, ctx, StageRuleIn(name="Demo → MQL", stage="mql", condition={"event": "Demo Requested"})
    )
    segment_id = _segment(
        session, ctx, "MQLs", {"property": "lifecycle_stage", "operator": "equals", "value": "mql"}
    )
    ada = make_contact(session, ctx)
    record_event(session, ctx, ada.id, "Demo Requested", {})
    session.commit()

    done = react_pending(sessions, ctx)

    assert (done.contacts, done.stage_changes, done.segment_changes) == (1, 1, 1)
    assert _members(session, segment_id) == [ada.id]


def test_an_event_raises_the_score_and_the_contact_enters_a_segment_on_the_score_in_the_same_pass(
    session: Session, sessions: sessionmaker[Session], ctx: Context
) -> None:
    apply(sessions, ctx, ENGAGEMENT)
    segment_id = _segment(session, ctx, "Engaged", {"score": {"model": "engagement", "gte": 3}})
    ada = make_contact(session, ctx)
    record_event(session, ctx, ada.id, "Webinar Attended", {})
    session.commit()

    done = react_pending(sessions, ctx)

    assert (done.score_changes, done.segment_changes) == (1, 1)
    assert _members(session, segment_id) == [ada.id]
    assert [row[1] for row in logged(session, "Score Changed")] == [ada.id]
