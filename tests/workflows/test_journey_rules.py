"""More of what a marketer relies on: stage and score triggers, waits for a time of day, retries
that give up visibly, journeys that start other journeys, and re-enrollment with a cooldown."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.sales.lifecycle import change_stage
from funnelwise.workflows.engine import ATTEMPTS, run_all_due
from funnelwise.workflows.models import Enrollment, StepRun
from funnelwise.workflows.schemas import EnrollIn
from funnelwise.workflows.service import enroll_contacts
from tests.factories import make_contact
from tests.scoring.support import ENGAGEMENT, apply
from tests.webhook_receiver import Receiver
from tests.workflows.test_journeys import log, start, templates_sent, work

HELLO = [{"id": "hello", "type": "send", "channel": "email", "template": "hello"}]


def enrollments(session: Session, contact_id: int) -> list[Enrollment]:
    return list(
        session.scalars(select(Enrollment).where(Enrollment.contact_id == contact_id).order_by(Enrollment.id))
    )


def test_reaching_mql_and_crossing_a_score_threshold_start_their_journeys(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    apply(sessions, ctx, ENGAGEMENT)
    with sessions() as session:
        ada = make_contact(session, ctx).id
        clock.advance(timedelta(minutes=1))
        start(
            session,
            ctx,
            {
                "name": "to-sales",
                "trigger": {"type": "lifecycle_stage_changed", "to": "mql"},
                "steps": [{"id": "alert", "type": "send", "channel": "email", "template": "new-mql"}],
            },
        )
        start(
            session,
            ctx,
            {
                "name": "engaged",
                "trigger": {"type": "score_crossed", "model": "engagement", "threshold": 3},
                "steps": [{"id": "invite", "type": "send", "channel": "email", "template": "invite"}],
            },
        )
    log(sessions, ctx, ada, "Page Viewed")
    log(sessions, ctx, ada, "Page Viewed")
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, ada) == []  # a score of 2 has not crossed 3
    clock.advance(timedelta(minutes=1))
    log(sessions, ctx, ada, "Webinar Attended")
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, ada) == ["invite"]
        change_stage(session, ctx, ada, "lead")
        change_stage(session, ctx, ada, "mql")
        session.commit()
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, ada) == ["invite", "new-mql"]


def test_wait_until_ten_on_a_weekday_in_the_contacts_own_timezone(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    clock.set(datetime(2026, 12, 4, 14, 0, tzinfo=UTC))  # Friday 23:00 in Seoul, 09:00 in New York
    definition = {
        "name": "weekday-morning",
        "trigger": {"type": "manual"},
        "steps": [
            {
                "id": "wait",
                "type": "wait_until",
                "time": "10:00",
                "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "next": "hello",
            },
            *HELLO,
        ],
    }
    with sessions() as session:
        seoul = make_contact(session, ctx, timezone="Asia/Seoul").id
        new_york = make_contact(session, ctx, timezone="America/New_York").id
        workflow_id = start(session, ctx, definition)
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[seoul, new_york]))
        session.commit()
    run_all_due(sessions, ctx)
    with sessions() as session:
        due = {e.contact_id: e.due_at for e in session.scalars(select(Enrollment))}
    assert due[new_york] == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # Friday 10:00 in New York
    assert due[seoul] == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 10:00 in Seoul

    clock.set(datetime(2026, 12, 4, 15, 0, tzinfo=UTC))
    run_all_due(sessions, ctx)
    with sessions() as session:
        assert (templates_sent(session, new_york), templates_sent(session, seoul)) == (["hello"], [])


def test_a_failing_webhook_is_retried_with_backoff_then_the_enrollment_fails_with_the_error(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock, monkeypatch: Any
) -> None:
    monkeypatch.setattr(ctx.settings, "webhook_allow_private", True)
    with Receiver(statuses=[500] * ATTEMPTS) as receiver:
        with sessions() as session:
            ada = make_contact(session, ctx).id
            steps = [{"id": "notify", "type": "webhook", "url": receiver.url, "next": "hello"}, *HELLO]
            workflow_id = start(
                session, ctx, {"name": "crm-sync", "trigger": {"type": "manual"}, "steps": steps}
            )
            enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada]))
            session.commit()
        waits = []
        for _ in range(ATTEMPTS):
            run_all_due(sessions, ctx)
            with sessions() as session:
                enrollment = enrollments(session, ada)[0]
            if enrollment.status != "active":
                break
            waits.append(enrollment.due_at - clock.now())
            clock.advance(enrollment.due_at - clock.now())
    assert waits == [timedelta(seconds=30 * 2**n) for n in range(ATTEMPTS - 1)]
    assert len(receiver.requests) == ATTEMPTS
    keys = {headers["Idempotency-Key"] for headers, _ in receiver.requests}
    assert len(keys) == 1  # every try of the one step carries the same key
    assert enrollment.status == "failed"
    assert "500" in (enrollment.last_error or "") and enrollment.reason.startswith("step 'notify' failed")
    with sessions() as session:
        assert templates_sent(session, ada) == []


def test_an_enroll_step_starts_another_journey_once_and_re_enrollment_waits_out_the_cooldown(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    follow_up = {
        "name": "follow-up",
        "trigger": {"type": "manual"},
        "steps": HELLO,
        "settings": {"reenrollment": True, "cooldown": "7d"},
    }
    handover = {
        "name": "handover",
        "trigger": {"type": "manual"},
        "steps": [{"id": "pass-on", "type": "enroll", "workflow": "follow-up"}],
        "settings": {"reenrollment": True},
    }
    with sessions() as session:
        ada = make_contact(session, ctx).id
        start(session, ctx, follow_up)
        handover_id = start(session, ctx, handover)
        enroll_contacts(session, ctx, handover_id, EnrollIn(contact_ids=[ada], key="first"))
        session.commit()
    run_all_due(sessions, ctx)
    clock.advance(timedelta(days=3))
    with sessions() as session:
        enroll_contacts(session, ctx, handover_id, EnrollIn(contact_ids=[ada], key="second"))
        session.commit()
    run_all_due(sessions, ctx)
    clock.advance(timedelta(days=5))
    with sessions() as session:
        enroll_contacts(session, ctx, handover_id, EnrollIn(contact_ids=[ada], key="third"))
        session.commit()
    run_all_due(sessions, ctx)
    with sessions() as session:
        outcomes = session.scalars(
            select(StepRun.outcome).where(StepRun.step_id == "pass-on").order_by(StepRun.id)
        ).all()
        assert outcomes == [
            "enrolled in 'follow-up'",
            "not enrolled in 'follow-up': enrolled within the cooldown of 7d",
            "enrolled in 'follow-up'",
        ]
        assert templates_sent(session, ada) == ["hello", "hello"]
