"""A workflow step changes the contact: a property, a list, the stage, the owner, a task, a deal, a webhook."""

import hashlib
import hmac
import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.contacts.service import get_contact
from funnelwise.context import Context
from funnelwise.reactions.models import DueContact
from funnelwise.sales.assignment import create_assignment_rule
from funnelwise.sales.deals import list_deals
from funnelwise.sales.lifecycle import change_stage, stage_history
from funnelwise.sales.log import OWNER_ASSIGNED, STAGE_CHANGED
from funnelwise.sales.schemas import AssignmentRuleIn
from funnelwise.sales.tasks import list_tasks
from funnelwise.segments.lists import create_list, list_members
from funnelwise.segments.schemas import ListIn
from funnelwise.workflows.definition import (
    AssignOwnerStep,
    CreateTaskStep,
    IncrementPropertyStep,
    ListStep,
    SetPropertyStep,
    StageStep,
    UpsertDealStep,
    WebhookStep,
    read_definition,
)
from funnelwise.workflows.effects import EFFECT_TYPES, EffectStep, run_effect
from funnelwise.workflows.runtime import StepContext, StepFailed, StepRefused
from tests.factories import make_contact, make_property, make_user
from tests.sales.support import logged
from tests.webhook_receiver import Receiver

SECRET = "whsec-test-0123456789abcdef"


def _run(ctx: Context, contact_id: int, step_id: str = "act") -> StepContext:
    return StepContext(
        enrollment_id=7,
        workflow_id=1,
        workflow_name="welcome",
        version=2,
        contact_id=contact_id,
        step_id=step_id,
        seq=3,
        now=ctx.clock.now(),
        trigger={"type": "event", "event": "Signed Up", "at": ctx.clock.now()},
    )


def _do(session: Session, ctx: Context, step: EffectStep, contact_id: int) -> str:
    outcome = run_effect(session, ctx, step, _run(ctx, contact_id, step.id))
    session.commit()
    return outcome


def _refusal(session: Session, ctx: Context, step: EffectStep, contact_id: int) -> str:
    with pytest.raises(StepRefused) as refused:
        run_effect(session, ctx, step, _run(ctx, contact_id, step.id))
    session.rollback()
    return str(refused.value)


def _lead(session: Session, ctx: Context, **fields: Any) -> int:
    """A contact at a free-mail address: no company, so no account owner to follow."""
    fields.setdefault("email", "ada@gmail.com")
    return make_contact(session, ctx, **fields).id


def _queued(session: Session, contact_id: int) -> int:
    return session.scalar(select(func.count()).where(DueContact.contact_id == contact_id)) or 0


def test_the_module_handles_every_step_that_changes_something() -> None:
    assert sorted(EFFECT_TYPES) == [
        "add_to_list", "assign_owner", "create_task", "increment_property", "remove_from_list",
        "set_lifecycle_stage", "set_property", "upsert_deal", "webhook",
    ]  # fmt: skip


# Properties


def test_setting_a_custom_property_stores_the_cleaned_value_and_queues_the_contact(
    session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "plan", "enum", options={"pro": "Pro", "free": "Free"})
    ada = _lead(session, ctx)
    queued = _queued(session, ada)

    outcome = _do(
        session, ctx, SetPropertyStep(id="upgrade", type="set_property", property="plan", value="Pro"), ada
    )

    assert outcome == "set plan = 'pro'"
    assert get_contact(session, ada).properties == {"plan": "pro"}
    assert _queued(session, ada) == queued + 1


def test_setting_a_built_in_field_goes_through_its_cleaning(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)

    outcome = _do(
        session,
        ctx,
        SetPropertyStep(id="tz", type="set_property", property="timezone", value="Asia/Seoul"),
        ada,
    )
    cleared = _do(
        session, ctx, SetPropertyStep(id="name", type="set_property", property="first_name", value=None), ada
    )

    assert (outcome, cleared) == ("set timezone = 'Asia/Seoul'", "cleared first_name")
    assert get_contact(session, ada).timezone == "Asia/Seoul"


def test_a_value_the_property_cannot_hold_is_refused_by_name(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "seats", "number")
    ada = _lead(session, ctx)

    bad_number = _refusal(
        session, ctx, SetPropertyStep(id="s", type="set_property", property="seats", value="many"), ada
    )
    unknown = _refusal(
        session, ctx, SetPropertyStep(id="s", type="set_property", property="colour", value="red"), ada
    )
    bad_zone = _refusal(
        session,
        ctx,
        SetPropertyStep(id="s", type="set_property", property="timezone", value="Mars/Base"),
        ada,
    )

    assert bad_number == "cannot set seats: properties.seats: expected a number, got text 'many'"
    assert unknown.startswith("cannot set colour: properties.colour: ")
    assert "colour" in unknown.removeprefix("cannot set colour: properties.colour: ")
    assert bad_zone == (
        "cannot set timezone: timezone: unknown timezone 'Mars/Base'; expected an IANA name such as 'Asia/Seoul'"
    )
    assert get_contact(session, ada).properties == {}


def test_setting_the_lifecycle_stage_property_moves_the_stage_with_its_history(
    session: Session, ctx: Context
) -> None:
    ada = _lead(session, ctx, lifecycle_stage="lead")

    outcome = _do(
        session,
        ctx,
        SetPropertyStep(id="s", type="set_property", property="lifecycle_stage", value="mql"),
        ada,
    )

    assert outcome == "stage lead → mql"
    assert [(h.from_stage, h.to_stage) for h in stage_history(session, ada)][-1] == ("lead", "mql")


def test_incrementing_adds_to_the_stored_number_and_a_missing_one_counts_as_zero(
    session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "visits", "number")
    ada = _lead(session, ctx)
    queued = _queued(session, ada)

    first = _do(
        session,
        ctx,
        IncrementPropertyStep(id="count", type="increment_property", property="visits", by=2),
        ada,
    )
    second = _do(
        session,
        ctx,
        IncrementPropertyStep(id="count", type="increment_property", property="visits", by=-0.5),
        ada,
    )

    assert (first, second) == ("increased visits by 2 to 2", "decreased visits by 0.5 to 1.5")
    assert get_contact(session, ada).properties == {"visits": 1.5}
    assert _queued(session, ada) == queued + 2


def test_incrementing_keeps_the_other_properties_and_whole_numbers_whole(
    session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "visits", "number")
    make_property(session, ctx, "plan")
    ada = _lead(session, ctx, properties={"visits": 3, "plan": "pro"})

    outcome = _do(
        session, ctx, IncrementPropertyStep(id="count", type="increment_property", property="visits"), ada
    )

    assert outcome == "increased visits by 1 to 4"
    assert get_contact(session, ada).properties == {"visits": 4, "plan": "pro"}


def test_incrementing_anything_but_a_number_property_is_refused(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "plan")
    ada = _lead(session, ctx)

    text = _refusal(
        session, ctx, IncrementPropertyStep(id="c", type="increment_property", property="plan"), ada
    )
    built_in = _refusal(
        session, ctx, IncrementPropertyStep(id="c", type="increment_property", property="first_name"), ada
    )
    unknown = _refusal(
        session, ctx, IncrementPropertyStep(id="c", type="increment_property", property="visits"), ada
    )

    assert text == "cannot increment 'plan': it is a string property, not a number property"
    assert built_in == "cannot increment 'first_name': it is a built-in field, not a number property"
    assert unknown == "cannot increment 'visits': it is no custom property, not a number property"


# Lists


def test_adding_to_and_removing_from_a_list_by_name(session: Session, ctx: Context) -> None:
    vip = create_list(session, ctx, ListIn(name="VIP"))
    ada = _lead(session, ctx)
    add = ListStep(id="in", type="add_to_list", list="VIP")
    remove = ListStep(id="out", type="remove_from_list", list="VIP")

    outcomes = [_do(session, ctx, add, ada), _do(session, ctx, add, ada)]
    members = [m.id for m in list_members(session, vip.id).results]
    outcomes += [_do(session, ctx, remove, ada), _do(session, ctx, remove, ada)]

    assert members == [ada]
    assert outcomes == [
        "added to list 'VIP'",
        "already on list 'VIP'",
        "removed from list 'VIP'",
        "not on list 'VIP'",
    ]
    assert list_members(session, vip.id).results == []


def test_an_unknown_list_is_refused_by_name(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)

    assert (
        _refusal(session, ctx, ListStep(id="in", type="add_to_list", list="Nope"), ada)
        == "no list named 'Nope'"
    )


# Lifecycle stage


def test_a_workflow_moves_the_stage_forward_with_history_and_event(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx, lifecycle_stage="lead")

    outcome = _do(session, ctx, StageStep(id="promote", type="set_lifecycle_stage", stage="sql"), ada)

    assert outcome == "stage lead → sql"
    assert [(h.from_stage, h.to_stage, h.forced, h.reason) for h in stage_history(session, ada)][-1] == (
        "lead",
        "sql",
        False,
        "workflow 'welcome' (version 2), step 'promote'",
    )
    (_id, contact, properties) = logged(session, STAGE_CHANGED)[-1]
    assert (contact, properties["from_stage"], properties["to_stage"]) == (ada, "lead", "sql")
    assert properties["source"] == "workflow"


def test_a_workflow_never_moves_the_stage_back(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)
    change_stage(session, ctx, ada, "customer")
    session.commit()

    back = _do(session, ctx, StageStep(id="s", type="set_lifecycle_stage", stage="lead"), ada)
    same = _do(session, ctx, StageStep(id="s", type="set_lifecycle_stage", stage="customer"), ada)

    assert back == "stage unchanged (already customer; a workflow moves contacts forward only)"
    assert same == "stage unchanged (already customer)"
    assert [h.to_stage for h in stage_history(session, ada)] == ["customer"]


# Owner


def test_a_named_owner_takes_the_contact_and_the_assignment_is_logged(session: Session, ctx: Context) -> None:
    rep = make_user(session, ctx, email="rep@funnelwise.example")
    other = make_user(session, ctx, email="other@funnelwise.example")
    ada = _lead(session, ctx, owner_id=other.id)
    step = AssignOwnerStep(id="own", type="assign_owner", owner="Rep@Funnelwise.example")

    outcomes = [_do(session, ctx, step, ada), _do(session, ctx, step, ada)]

    assert outcomes == ["assigned to rep@funnelwise.example", "owned by rep@funnelwise.example already"]
    assert get_contact(session, ada).owner_id == rep.id
    ((_id, contact, properties),) = logged(session, OWNER_ASSIGNED)
    assert (contact, properties) == (ada, {"owner_id": rep.id, "via": "workflow"})


def test_an_unknown_owner_is_refused_by_email(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)

    refusal = _refusal(
        session, ctx, AssignOwnerStep(id="own", type="assign_owner", owner="ghost@funnelwise.example"), ada
    )

    assert refusal == "no user with email 'ghost@funnelwise.example' to own the contact"
    assert get_contact(session, ada).owner_id is None


def test_without_a_named_owner_the_assignment_rules_decide(session: Session, ctx: Context) -> None:
    rep = make_user(session, ctx, email="rep@funnelwise.example")
    ada = _lead(session, ctx)
    step = AssignOwnerStep(id="own", type="assign_owner")

    unmatched = _do(session, ctx, step, ada)
    create_assignment_rule(session, ctx, AssignmentRuleIn(name="all", condition={"all": []}, user_id=rep.id))
    session.commit()
    matched = _do(session, ctx, step, ada)
    again = _do(session, ctx, step, ada)

    assert (unmatched, matched, again) == (
        "no rule matched",
        "assigned to rep@funnelwise.example (rule)",
        "owned by rep@funnelwise.example already",
    )
    assert get_contact(session, ada).owner_id == rep.id


# Tasks and deals


def test_a_task_goes_to_the_contacts_owner_due_after_the_given_time(session: Session, ctx: Context) -> None:
    rep = make_user(session, ctx, email="rep@funnelwise.example")
    ada = _lead(session, ctx, owner_id=rep.id)

    outcome = _do(
        session, ctx, CreateTaskStep(id="call", type="create_task", title="Call Ada", due_in="2d"), ada
    )

    assert outcome == "task 'Call Ada' for rep@funnelwise.example, due 2026-11-24T01:00:00+00:00"
    (task,) = list_tasks(session, ctx, contact_id=ada).results
    assert (task.title, task.owner_id, task.status, task.due_at) == (
        "Call Ada",
        rep.id,
        "open",
        ctx.clock.now() + timedelta(days=2),
    )
    assert task.notes == "From workflow 'welcome' (version 2), step 'call'"


def test_a_deal_is_created_once_and_then_updated(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)

    created = _do(
        session, ctx, UpsertDealStep(id="d", type="upsert_deal", name="Pro plan", amount=1_000_000), ada
    )
    updated = _do(
        session,
        ctx,
        UpsertDealStep(id="d", type="upsert_deal", name="Pro plan", stage="proposal", amount=2_000_000),
        ada,
    )
    unchanged = _do(
        session, ctx, UpsertDealStep(id="d", type="upsert_deal", name="Pro plan", stage="proposal"), ada
    )

    assert created == "created deal 'Pro plan' at qualified (1,000,000 KRW)"
    assert updated == "updated deal 'Pro plan': amount 2,000,000 KRW, stage qualified → proposal"
    assert unchanged == "deal 'Pro plan' unchanged"
    (deal,) = list_deals(session, contact_id=ada).results
    assert (deal.name, deal.stage, deal.amount, deal.currency) == ("Pro plan", "proposal", 2_000_000, "KRW")


def test_an_unknown_pipeline_or_stage_is_refused_by_name(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)

    pipeline = _refusal(
        session, ctx, UpsertDealStep(id="d", type="upsert_deal", name="X", pipeline="Renewals"), ada
    )
    stage = _refusal(session, ctx, UpsertDealStep(id="d", type="upsert_deal", name="X", stage="signed"), ada)

    assert pipeline == "no pipeline named 'Renewals'; there are none yet"
    assert stage.startswith("cannot upsert deal 'X': stage: pipeline ")
    assert stage.endswith(
        "has no stage 'signed'; expected one of qualified, meeting, proposal, negotiation, closed_won, closed_lost"
    )
    assert list_deals(session, contact_id=ada).results == []


# Webhooks


@pytest.fixture
def allow_local_webhooks(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctx.settings, "webhook_allow_private", True)


def _hook(url: str, secret: str | None = SECRET) -> WebhookStep:
    """Through `read_definition`, as a stored workflow would give it."""
    step = {"id": "notify", "type": "webhook", "url": url} | ({"secret": secret} if secret else {})
    definition = read_definition({"name": "welcome", "trigger": {"type": "manual"}, "steps": [step]})
    hook = definition.steps[0]
    assert isinstance(hook, WebhookStep)
    return hook


@pytest.mark.usefixtures("allow_local_webhooks")
def test_a_webhook_posts_the_signed_payload_with_the_steps_idempotency_key(
    session: Session, ctx: Context
) -> None:
    ada = _lead(session, ctx, first_name="Ada", lifecycle_stage="lead")

    with Receiver() as receiver:
        outcome = _do(session, ctx, _hook(receiver.url), ada)

    assert outcome == "webhook 204"
    ((headers, body),) = receiver.requests
    assert headers["Idempotency-Key"] == "wf-7-3"
    timestamp = int(ctx.clock.now().timestamp())
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["Funnelwise-Signature"] == f"t={timestamp},v1={digest}"
    payload = json.loads(body)
    assert {k: v for k, v in payload.items() if k != "contact"} == {
        "workflow": "welcome",
        "version": 2,
        "step": "notify",
        "enrollment_id": 7,
        "trigger": {"type": "event", "event": "Signed Up", "at": "2026-11-22T01:00:00Z"},
        "sent_at": "2026-11-22T01:00:00+00:00",
    }
    assert {k: payload["contact"][k] for k in ("id", "email", "first_name", "lifecycle_stage")} == {
        "id": ada,
        "email": "ada@gmail.com",
        "first_name": "Ada",
        "lifecycle_stage": "lead",
    }


@pytest.mark.usefixtures("allow_local_webhooks")
def test_a_webhook_without_a_secret_goes_unsigned(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)

    with Receiver() as receiver:
        outcome = _do(session, ctx, _hook(receiver.url, secret=None), ada)

    assert outcome == "webhook 204"
    ((headers, _body),) = receiver.requests
    assert "Funnelwise-Signature" not in headers
    assert headers["Idempotency-Key"] == "wf-7-3"


@pytest.mark.usefixtures("allow_local_webhooks")
@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_or_too_many_requests_fails_the_step_for_a_retry(
    session: Session, ctx: Context, status: int
) -> None:
    ada = _lead(session, ctx)

    with Receiver([status]) as receiver, pytest.raises(StepFailed) as failed:
        run_effect(session, ctx, _hook(receiver.url), _run(ctx, ada, "notify"))

    assert type(failed.value) is StepFailed
    assert str(failed.value) == f"webhook to 127.0.0.1 answered {status}"


@pytest.mark.usefixtures("allow_local_webhooks")
def test_a_client_error_refuses_the_step_naming_the_status(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)

    with Receiver([404]) as receiver:
        refusal = _refusal(session, ctx, _hook(receiver.url), ada)

    assert refusal == "webhook to 127.0.0.1 answered 404"


@pytest.mark.usefixtures("allow_local_webhooks")
def test_a_receiver_that_is_not_there_fails_the_step_for_a_retry(session: Session, ctx: Context) -> None:
    ada = _lead(session, ctx)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(StepFailed) as failed:
        run_effect(session, ctx, _hook(f"http://127.0.0.1:{port}/hook"), _run(ctx, ada, "notify"))

    assert type(failed.value) is StepFailed
    assert str(failed.value).startswith("webhook to 127.0.0.1 failed: ConnectError: ")


def test_a_webhook_to_a_loopback_address_is_refused_without_the_setting(
    session: Session, ctx: Context
) -> None:
    assert not ctx.settings.webhook_allow_private
    ada = _lead(session, ctx)

    with Receiver() as receiver:
        refusal = _refusal(session, ctx, _hook(receiver.url), ada)

    assert receiver.requests == []
    assert refusal == (
        "127.0.0.1 resolves to 127.0.0.1, an internal address; webhooks go only to public addresses "
        "unless FUNNELWISE_WEBHOOK_ALLOW_PRIVATE=true"
    )


def test_a_contact_that_no_longer_exists_is_refused(session: Session, ctx: Context) -> None:
    refusal = _refusal(session, ctx, ListStep(id="in", type="add_to_list", list="VIP"), 404)

    assert refusal == "contact 404 no longer exists"
