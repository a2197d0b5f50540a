"""Contacts go through a journey: each step once, waits by the clock, the path recorded."""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.workflows.engine import run_all_due
from funnelwise.workflows.models import Enrollment, StepRun
from funnelwise.workflows.schemas import EnrollIn
from funnelwise.workflows.service import apply_workflow, enroll_contacts, resume_workflow
from tests.factories import make_contact
from tests.workflows.support import welcome


def start(session: Session, ctx: Context, definition: dict) -> int:
    workflow = apply_workflow(session, ctx, definition, allow_unknown=True).workflow
    resume_workflow(session, ctx, workflow.id)
    session.commit()
    return workflow.id


def sent(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(
        select(OutboxMessage.contact_id, OutboxMessage.template).order_by(OutboxMessage.id)
    )
    return [tuple(row) for row in rows]


def test_a_welcome_journey_sends_then_waits_a_day_then_sends_again(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com").id
        workflow_id = start(session, ctx, welcome())
        result = enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada, 999_999], key="k1"))
        session.commit()
    assert result.enrolled == [ada]
    assert [(s.contact_id, s.reason) for s in result.skipped] == [(999_999, "no such contact")]

    run_all_due(sessions, ctx)
    with sessions() as session:
        assert sent(session) == [(ada, "welcome")]
        enrollment = session.scalars(select(Enrollment)).one()
        assert (enrollment.status, enrollment.step_id) == ("active", "pause")
        assert enrollment.due_at == clock.now() + timedelta(days=1)

    clock.advance(timedelta(hours=23))
    run_all_due(sessions, ctx)
    with sessions() as session:
        assert sent(session) == [(ada, "welcome")]

    clock.advance(timedelta(hours=1))
    run_all_due(sessions, ctx)
    run_all_due(sessions, ctx)
    with sessions() as session:
        assert sent(session) == [(ada, "welcome"), (ada, "first-tip")]
        enrollment = session.scalars(select(Enrollment)).one()
        assert (enrollment.status, enrollment.reason) == ("completed", "reached the end")
        path = session.execute(select(StepRun.step_id, StepRun.outcome).order_by(StepRun.seq)).all()
        assert [tuple(p) for p in path] == [
            ("hello", "queued email message 'welcome'"),
            ("pause", "waited 1d"),
            ("tip", "queued email message 'first-tip'"),
        ]


def test_enrolling_with_the_same_key_twice_enrolls_once_and_a_live_contact_is_not_enrolled_again(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com").id
        workflow_id = start(session, ctx, welcome())
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada], key="same"))
        again = enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada], key="same"))
        other = enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada], key="other"))
        assert again.enrolled == [] and other.enrolled == []
        assert other.skipped[0].reason == "enrolled already"
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 1
