"""Journeys as a marketer builds them: triggers, waits for events, branches, goals and exits."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.schemas import ContactIn
from funnelwise.contacts.service import update_contact
from funnelwise.context import Context
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.reactions.run import react_all
from funnelwise.segments.lists import add_members, create_list
from funnelwise.segments.schemas import ListIn, SegmentIn
from funnelwise.segments.service import create_segment
from funnelwise.tracking.log import record_event
from funnelwise.tracking.models import Event
from funnelwise.workflows.engine import run_all_due
from funnelwise.workflows.models import Enrollment, StepRun
from funnelwise.workflows.schemas import EnrollIn
from funnelwise.workflows.service import apply_workflow, enroll_contacts, pause_workflow, resume_workflow
from tests.factories import make_contact, make_property


def start(session: Session, ctx: Context, definition: dict[str, Any]) -> int:
    workflow = apply_workflow(session, ctx, definition, allow_unknown=True).workflow
    resume_workflow(session, ctx, workflow.id)
    session.commit()
    return workflow.id


def work(sessions: sessionmaker[Session], ctx: Context) -> None:
    """What the worker does: react to what happened, then run what is due."""
    react_all(sessions, ctx)
    run_all_due(sessions, ctx)


def templates_sent(session: Session, contact_id: int) -> list[str]:
    return list(
        session.scalars(
            select(OutboxMessage.template)
            .where(OutboxMessage.contact_id == contact_id)
            .order_by(OutboxMessage.id)
        )
    )


def journey(session: Session, contact_id: int) -> tuple[str, str | None]:
    enrollment = session.scalars(select(Enrollment).where(Enrollment.contact_id == contact_id)).one()
    return enrollment.status, enrollment.reason


def log(sessions: sessionmaker[Session], ctx: Context, contact_id: int, name: str, **properties: Any) -> None:
    with sessions() as session:
        record_event(session, ctx, contact_id, name, properties)
        session.commit()


SIGNUP_CHASE = {
    "name": "signup-chase",
    "trigger": {
        "type": "event",
        "event": "Form Submitted",
        "where": [{"property": "form", "operator": "equals", "value": "inquiry"}],
    },
    "steps": [
        {"id": "intro", "type": "send", "channel": "email", "template": "intro", "next": "wait"},
        {
            "id": "wait",
            "type": "wait_for_event",
            "event": "Signed Up",
            "timeout": "7d",
            "on_event": "thanks",
            "on_timeout": "reminder",
        },
        {"id": "thanks", "type": "send", "channel": "email", "template": "thanks"},
        {"id": "reminder", "type": "send", "channel": "email", "template": "reminder"},
    ],
}


def test_an_inquiry_enrolls_and_a_sign_up_within_the_week_takes_the_other_branch(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com").id
        bob = make_contact(session, ctx, email="bob@example.com").id
        cyd = make_contact(session, ctx, email="cyd@example.com").id
        start(session, ctx, SIGNUP_CHASE)
    log(sessions, ctx, ada, "Form Submitted", form="inquiry")
    log(sessions, ctx, bob, "Form Submitted", form="inquiry")
    log(sessions, ctx, cyd, "Form Submitted", form="newsletter")
    work(sessions, ctx)

    clock.advance(timedelta(days=3))
    log(sessions, ctx, ada, "Signed Up")
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, ada) == ["intro", "thanks"]
        assert journey(session, ada) == ("completed", "reached the end")
        assert templates_sent(session, bob) == ["intro"]
        assert templates_sent(session, cyd) == []

    clock.advance(timedelta(days=4))
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, bob) == ["intro", "reminder"]
        outcomes = session.scalars(
            select(StepRun.outcome).join(Enrollment).where(Enrollment.contact_id == bob).order_by(StepRun.seq)
        ).all()
        assert outcomes[1] == "no 'Signed Up' within 7d"


def test_the_same_event_seen_twice_enrolls_once_and_a_replayed_reaction_sends_nothing_new(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com").id
        start(session, ctx, SIGNUP_CHASE)
    log(sessions, ctx, ada, "Form Submitted", form="inquiry")
    work(sessions, ctx)
    log(sessions, ctx, ada, "Page Viewed")  # queues Ada again: the inquiry is seen a second time
    work(sessions, ctx)
    with sessions() as session:
        assert session.scalars(select(Enrollment.trigger_key)).all()[0].startswith("event:")
        assert len(session.scalars(select(Enrollment)).all()) == 1
        assert templates_sent(session, ada) == ["intro"]


BRANCHES = {
    "name": "branches",
    "trigger": {"type": "manual"},
    "steps": [
        {
            "id": "by-plan",
            "type": "split",
            "branches": [
                {
                    "name": "pro",
                    "condition": {"property": "job_title", "operator": "equals", "value": "CEO"},
                    "next": "ceo",
                },
                {
                    "name": "staff",
                    "condition": {"property": "job_title", "operator": "equals", "value": "Staff"},
                    "next": "staff",
                },
            ],
            "else": "anyone",
        },
        {"id": "ceo", "type": "send", "channel": "email", "template": "for-ceos"},
        {"id": "staff", "type": "send", "channel": "email", "template": "for-staff"},
        {
            "id": "anyone",
            "type": "if_else",
            "condition": {"property": "last_name", "operator": "equals", "value": "Kim"},
            "then": "seoul",
            "else": "elsewhere",
        },
        {"id": "seoul", "type": "send", "channel": "sms", "template": "seoul-event"},
        {"id": "elsewhere", "type": "exit"},
    ],
}


def test_splits_and_if_else_send_each_contact_down_its_own_branch(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ceo = make_contact(session, ctx, job_title="CEO").id
        staff = make_contact(session, ctx, job_title="Staff").id
        seoulite = make_contact(session, ctx, last_name="Kim").id
        busan = make_contact(session, ctx, last_name="Park").id
        workflow_id = start(session, ctx, BRANCHES)
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ceo, staff, seoulite, busan]))
        session.commit()
    run_all_due(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, ceo) == ["for-ceos"]
        assert templates_sent(session, staff) == ["for-staff"]
        assert templates_sent(session, seoulite) == ["seoul-event"]
        assert templates_sent(session, busan) == []
        assert journey(session, busan) == ("exited", "reached the exit step 'elsewhere'")


def test_an_ab_split_divides_by_weight_and_holds_out_a_control_group(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    definition = {
        "name": "ab",
        "trigger": {"type": "manual"},
        "steps": [
            {
                "id": "test",
                "type": "ab_split",
                "holdout": 10,
                "variants": [
                    {"name": "a", "weight": 3, "next": "a"},
                    {"name": "b", "weight": 1, "next": "b"},
                ],
            },
            {"id": "a", "type": "send", "channel": "email", "template": "subject-a"},
            {"id": "b", "type": "send", "channel": "email", "template": "subject-b"},
        ],
    }
    with sessions() as session:
        ids = [make_contact(session, ctx).id for _ in range(400)]
        workflow_id = start(session, ctx, definition)
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=ids))
        session.commit()
    run_all_due(sessions, ctx)
    with sessions() as session:
        templates = session.scalars(select(OutboxMessage.template)).all()
        held_out = session.scalars(select(Enrollment).where(Enrollment.status == "exited")).all()
    a, b = templates.count("subject-a"), templates.count("subject-b")
    assert 20 <= len(held_out) <= 60  # 10% of 400, give or take chance
    assert a + b + len(held_out) == 400
    assert 2.0 < a / b < 4.5


GOAL_AND_EXIT = {
    "name": "trial-nurture",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "day1", "type": "send", "channel": "email", "template": "day-1", "next": "later"},
        {"id": "later", "type": "wait", "duration": "2d", "next": "day3"},
        {"id": "day3", "type": "send", "channel": "email", "template": "day-3"},
    ],
    "settings": {
        "goal": {"event": "Order Completed"},
        "exit_when": [{"property": "lifecycle_stage", "operator": "equals", "value": "disqualified"}],
    },
}
SUPPRESSED = GOAL_AND_EXIT | {
    "settings": GOAL_AND_EXIT["settings"] | {"suppression_segments": ["competitors"]}
}


def test_a_goal_met_while_waiting_converts_and_an_exit_condition_ends_the_journey(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        buyer = make_contact(session, ctx).id
        dropped = make_contact(session, ctx).id
        stays = make_contact(session, ctx).id
        rival = make_contact(session, ctx, last_name="Lee").id
        already = make_contact(session, ctx).id
        record_event(session, ctx, already, "Order Completed", {})
        competitors = {"property": "last_name", "operator": "equals", "value": "Lee"}
        create_segment(session, ctx, SegmentIn(name="competitors", condition=competitors))
        session.commit()
        workflow_id = start(session, ctx, SUPPRESSED)
        result = enroll_contacts(
            session, ctx, workflow_id, EnrollIn(contact_ids=[buyer, dropped, stays, rival, already])
        )
        session.commit()
    assert result.enrolled == [buyer, dropped, stays]
    assert {s.contact_id: s.reason for s in result.skipped} == {
        rival: "in a suppression segment",
        already: "meets the goal already",
    }
    work(sessions, ctx)

    clock.advance(timedelta(days=1))
    log(sessions, ctx, buyer, "Order Completed", revenue=59000)
    with sessions() as session:
        update_contact(session, ctx, dropped, ContactIn(lifecycle_stage="disqualified"))
        session.commit()
    work(sessions, ctx)
    with sessions() as session:
        assert journey(session, buyer) == ("converted", "met the goal")
        assert journey(session, dropped) == ("exited", "met exit condition 1")

    clock.advance(timedelta(days=1))
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, buyer) == ["day-1"]
        assert templates_sent(session, dropped) == ["day-1"]
        assert templates_sent(session, stays) == ["day-1", "day-3"]


def test_a_paused_workflow_holds_its_enrollments_until_resumed(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx).id
        workflow_id = start(session, ctx, GOAL_AND_EXIT)
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada]))
        pause_workflow(session, ctx, workflow_id)
        session.commit()
    run_all_due(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, ada) == []
        resume_workflow(session, ctx, workflow_id)
        session.commit()
    run_all_due(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, ada) == ["day-1"]


def test_a_running_enrollment_finishes_on_its_version_after_an_edit(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        old = make_contact(session, ctx).id
        new = make_contact(session, ctx).id
        workflow_id = start(session, ctx, GOAL_AND_EXIT)
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[old]))
        session.commit()
    run_all_due(sessions, ctx)
    edited = GOAL_AND_EXIT | {
        "steps": [
            {"id": "day1", "type": "send", "channel": "email", "template": "day-1-v2", "next": "later"},
            {"id": "later", "type": "wait", "duration": "2d", "next": "day3"},
            {"id": "day3", "type": "send", "channel": "email", "template": "day-3-v2"},
        ]
    }
    with sessions() as session:
        apply_workflow(session, ctx, edited, allow_unknown=True)
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[new]))
        session.commit()
    run_all_due(sessions, ctx)
    clock.advance(timedelta(days=2))
    run_all_due(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, old) == ["day-1", "day-3"]
        assert templates_sent(session, new) == ["day-1-v2", "day-3-v2"]


def test_list_and_segment_triggers_enroll_the_contacts_they_name(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, last_name="Kim").id
        bob = make_contact(session, ctx, last_name="Park").id
        vip = create_list(session, ctx, ListIn(name="vip"))
        session.commit()
        start(
            session,
            ctx,
            {
                "name": "vip-welcome",
                "trigger": {"type": "list_added", "list": "vip"},
                "steps": [{"id": "hi", "type": "send", "channel": "kakao", "template": "vip-hi"}],
            },
        )
        create_segment(
            session,
            ctx,
            SegmentIn(
                name="seoul", condition={"property": "last_name", "operator": "equals", "value": "Kim"}
            ),
        )
        session.commit()
        clock.advance(timedelta(minutes=1))  # Ada entered the segment before the workflow started.
        start(
            session,
            ctx,
            {
                "name": "seoul-welcome",
                "trigger": {"type": "segment_entered", "segment": "seoul"},
                "steps": [{"id": "hi", "type": "send", "channel": "sms", "template": "seoul-hi"}],
            },
        )
        add_members(session, ctx, vip.id, [bob])
        session.commit()
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, bob) == ["vip-hi"]
        assert templates_sent(session, ada) == []
        update_contact(session, ctx, bob, ContactIn(last_name="Kim"))
        session.commit()
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, bob) == ["vip-hi", "seoul-hi"]


def test_a_property_going_from_trial_to_pro_starts_the_upgrade_journey(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        make_property(session, ctx, "plan")
        ada = make_contact(session, ctx, properties={"plan": "trial"}).id
        bob = make_contact(session, ctx, properties={"plan": "free"}).id
        clock.advance(timedelta(minutes=1))
        trigger = {"type": "property_changed", "property": "plan", "from": "trial", "to": "pro"}
        steps = [{"id": "thanks", "type": "send", "channel": "email", "template": "welcome-to-pro"}]
        start(session, ctx, {"name": "upgraded", "trigger": trigger, "steps": steps})
        update_contact(session, ctx, ada, ContactIn(properties={"plan": "pro"}, first_name="Ada"))
        update_contact(session, ctx, bob, ContactIn(properties={"plan": "pro"}))
        session.commit()
    work(sessions, ctx)
    with sessions() as session:
        assert templates_sent(session, ada) == ["welcome-to-pro"]
        assert templates_sent(session, bob) == []
        changes = session.scalars(
            select(Event.properties).where(Event.contact_id == ada, Event.name == "Property Changed")
        ).all()
        assert sorted((c["property"], c["from"], c["to"]) for c in changes) == [
            ("first_name", None, "Ada"),
            ("plan", "trial", "pro"),
        ]
