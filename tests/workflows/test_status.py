"""A marketer watches a journey: counts per step, each contact's path, and live enrollments moved on purpose."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.schemas import ContactIn
from funnelwise.contacts.service import update_contact
from funnelwise.context import Context
from funnelwise.errors import InvalidInput, NotFound
from funnelwise.reactions.run import react_all
from funnelwise.workflows.engine import run_all_due
from funnelwise.workflows.migration import migrate_enrollments
from funnelwise.workflows.models import Enrollment
from funnelwise.workflows.schemas import EnrollIn, EnrollmentStatus, WorkflowStatusOut
from funnelwise.workflows.service import apply_workflow, enroll_contacts
from funnelwise.workflows.status import contact_journeys, list_enrollments, workflow_status
from tests.factories import make_contact
from tests.workflows.support import welcome
from tests.workflows.test_engine import sent, start

# Customers leave the welcome journey wherever they are.
LEAVE_AS_CUSTOMER = {"exit_when": [{"property": "lifecycle_stage", "operator": "in", "value": ["customer"]}]}


def counts(found: WorkflowStatusOut) -> dict[int, list[tuple[Any, ...]]]:
    """Per version: (step, type, entered, waiting, completed, exited, converted, failed)."""
    return {
        version.version: [
            (s.step_id, s.type, s.entered, s.waiting, s.completed, s.exited, s.converted, s.failed)
            for s in version.steps
        ]
        for version in found.versions
    }


def totals(found: WorkflowStatusOut) -> dict[int, tuple[int, ...]]:
    """Per version: (enrolled, active, completed, exited, converted, failed)."""
    return {
        v.version: (
            v.totals.enrolled,
            v.totals.active,
            v.totals.completed,
            v.totals.exited,
            v.totals.converted,
            v.totals.failed,
        )
        for v in found.versions
    }


def test_three_contacts_go_through_the_welcome_journey_and_one_leaves_as_a_customer(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada, ben, cy = (make_contact(session, ctx).id for _ in range(3))
        workflow_id = start(session, ctx, welcome(settings=LEAVE_AS_CUSTOMER))
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada, ben, cy], key="launch"))
        session.commit()
        before_running = workflow_status(session, workflow_id)

    run_all_due(sessions, ctx)
    with sessions() as session:
        waiting = workflow_status(session, workflow_id)
        update_contact(session, ctx, ben, ContactIn(lifecycle_stage="customer"))
        session.commit()
    # The worker's reactions see the change at once: Ben leaves while waiting, before the day is out.
    react_all(sessions, ctx)
    with sessions() as session:
        one_left = workflow_status(session, workflow_id)
    clock.advance(timedelta(days=1))
    run_all_due(sessions, ctx)
    with sessions() as session:
        done = workflow_status(session, workflow_id)

    assert counts(before_running) == {
        1: [
            ("hello", "send", 3, 3, 0, 0, 0, 0),
            ("pause", "wait", 0, 0, 0, 0, 0, 0),
            ("tip", "send", 0, 0, 0, 0, 0, 0),
        ]
    }
    assert counts(waiting) == {
        1: [
            ("hello", "send", 3, 0, 3, 0, 0, 0),
            ("pause", "wait", 3, 3, 0, 0, 0, 0),
            ("tip", "send", 0, 0, 0, 0, 0, 0),
        ]
    }
    assert totals(waiting) == {1: (3, 3, 0, 0, 0, 0)}
    assert counts(one_left)[1][1] == ("pause", "wait", 3, 2, 0, 1, 0, 0)
    assert counts(done) == {
        1: [
            ("hello", "send", 3, 0, 3, 0, 0, 0),
            ("pause", "wait", 3, 0, 2, 1, 0, 0),
            ("tip", "send", 2, 0, 2, 0, 0, 0),
        ]
    }
    assert totals(done) == {1: (3, 0, 2, 1, 0, 0)}
    assert (done.name, done.status, done.version) == ("welcome", "active", 1)


def test_a_contacts_journey_lists_the_steps_taken_with_their_outcomes(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ben = make_contact(session, ctx).id
        workflow_id = start(session, ctx, welcome(settings=LEAVE_AS_CUSTOMER))
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ben], key="launch"))
        session.commit()
    enrolled_at = clock.now()
    run_all_due(sessions, ctx)
    with sessions() as session:
        [waiting] = contact_journeys(session, ben)
        update_contact(session, ctx, ben, ContactIn(lifecycle_stage="customer"))
        session.commit()
    clock.advance(timedelta(days=1))
    run_all_due(sessions, ctx)
    with sessions() as session:
        [left] = contact_journeys(session, ben)

    assert (waiting.workflow, waiting.version, waiting.status, waiting.current_step) == (
        "welcome",
        1,
        "active",
        "pause",
    )
    assert waiting.due_at == enrolled_at + timedelta(days=1)
    assert [(s.step_id, s.type, s.outcome) for s in waiting.steps] == [
        ("hello", "send", "queued email message 'welcome'")
    ]
    assert (left.status, left.reason, left.current_step, left.due_at) == (
        "exited",
        "met exit condition 1",
        None,
        None,
    )
    assert left.finished_at == enrolled_at + timedelta(days=1)
    assert [(s.step_id, s.type, s.entered_at, s.left_at, s.outcome) for s in left.steps] == [
        ("hello", "send", enrolled_at, enrolled_at, "queued email message 'welcome'"),
        ("pause", "leave", enrolled_at, enrolled_at + timedelta(days=1), "met exit condition 1"),
    ]


def test_journeys_of_an_unknown_contact_are_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        contact_journeys(session, 424242)


def test_enrollments_are_listed_newest_first_a_page_at_a_time_by_status_and_step(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ids = [make_contact(session, ctx).id for _ in range(3)]
        workflow_id = start(session, ctx, welcome())
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=ids[:2], key="first"))
        session.commit()
    run_all_due(sessions, ctx)
    with sessions() as session:
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=ids[2:], key="second"))
        session.commit()
        first = list_enrollments(session, workflow_id, limit=2)
        rest = list_enrollments(session, workflow_id, limit=2, cursor=first.next_cursor)
        at_pause = list_enrollments(session, workflow_id, step="pause")
        completed = list_enrollments(session, workflow_id, status=EnrollmentStatus.COMPLETED)

    assert [e.contact_id for e in first.results] == [ids[2], ids[1]]
    assert ([e.contact_id for e in rest.results], rest.next_cursor) == ([ids[0]], None)
    assert [(e.contact_id, e.step_id, e.status) for e in at_pause.results] == [
        (ids[1], "pause", "active"),
        (ids[0], "pause", "active"),
    ]
    assert completed.results == []


def with_offer(duration: str = "2d") -> dict[str, Any]:
    """Version 2 of welcome: a longer pause, then an offer before the tip."""
    hello, pause, tip = welcome()["steps"]
    offer = {"id": "offer", "type": "send", "channel": "email", "template": "offer", "next": "tip"}
    return welcome(steps=[hello, {**pause, "duration": duration, "next": "offer"}, offer, tip])


def test_a_waiting_enrollment_moved_to_version_2_follows_version_2(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx).id
        workflow_id = start(session, ctx, welcome())
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada], key="launch"))
        session.commit()
    run_all_due(sessions, ctx)
    with sessions() as session:
        apply_workflow(session, ctx, with_offer(), allow_unknown=True)
        moved = migrate_enrollments(session, ctx, workflow_id)
        session.commit()
    run_all_due(sessions, ctx)
    clock.advance(timedelta(days=1))
    run_all_due(sessions, ctx)
    with sessions() as session:
        after_a_day = sent(session)
    clock.advance(timedelta(days=1))
    run_all_due(sessions, ctx)
    with sessions() as session:
        found = workflow_status(session, workflow_id)
        [journey] = contact_journeys(session, ada)
        messages = sent(session)

    assert (moved.to_version, moved.moved, moved.stranded) == (2, 1, [])
    # Version 2 waits two days where version 1 waited one.
    assert after_a_day == [(ada, "welcome")]
    assert messages == [(ada, "welcome"), (ada, "offer"), (ada, "first-tip")]
    assert (journey.version, journey.status) == (2, "completed")
    assert [s.step_id for s in journey.steps] == ["hello", "pause", "offer", "tip"]
    # Hello ran on version 1; the rest on version 2, where the enrollment now belongs.
    assert counts(found) == {
        2: [
            ("hello", "send", 0, 0, 0, 0, 0, 0),
            ("pause", "wait", 1, 0, 1, 0, 0, 0),
            ("offer", "send", 1, 0, 1, 0, 0, 0),
            ("tip", "send", 1, 0, 1, 0, 0, 0),
        ],
        1: [
            ("hello", "send", 1, 0, 1, 0, 0, 0),
            ("pause", "wait", 0, 0, 0, 0, 0, 0),
            ("tip", "send", 0, 0, 0, 0, 0, 0),
        ],
    }
    assert totals(found) == {2: (1, 0, 1, 0, 0, 0), 1: (0, 0, 0, 0, 0, 0)}


def test_an_enrollment_at_a_step_the_new_version_lacks_stays_on_its_version(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada, ben = (make_contact(session, ctx).id for _ in range(2))
        workflow_id = start(session, ctx, welcome())
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada, ben], key="launch"))
        session.commit()
    run_all_due(sessions, ctx)
    hello, pause, tip = welcome()["steps"]
    with sessions() as session:
        apply_workflow(
            session,
            ctx,
            welcome(steps=[{**hello, "next": "rest"}, {**pause, "id": "rest"}, tip]),
            allow_unknown=True,
        )
        result = migrate_enrollments(session, ctx, workflow_id, to_version=2)
        session.commit()
        versions = session.execute(select(Enrollment.version, Enrollment.step_id)).all()
        with pytest.raises(InvalidInput) as unknown:
            migrate_enrollments(session, ctx, workflow_id, to_version=7)

    assert result.moved == 0
    assert [(s.version, s.step_id, s.count) for s in result.stranded] == [(1, "pause", 2)]
    assert [tuple(v) for v in versions] == [(1, "pause"), (1, "pause")]
    assert str(unknown.value) == "to_version: workflow 'welcome' has no version 7; the newest is 2"
