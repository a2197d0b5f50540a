"""An MQL opens a follow-up task with its SLA; an overdue task is escalated once, by mail or webhook."""

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput
from funnelwise.sales.escalation import escalate_due, escalate_overdue, task_escalations
from funnelwise.sales.lifecycle import change_stage
from funnelwise.sales.models import Escalation
from funnelwise.sales.schemas import SlaPolicyIn, TaskIn, TeamIn
from funnelwise.sales.tasks import create_sla_policy, create_task, finish_task, list_tasks
from funnelwise.sales.teams import create_team
from tests.conftest import TEST_SECRET
from tests.factories import make_contact, make_user
from tests.messaging.support import SmtpSink
from tests.sales.support import logged
from tests.webhook_receiver import Receiver


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


def _mail_context(database_url: str, clock: SimulatedClock, port: int) -> Context:
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        mail_from="Funnelwise <sales@funnelwise.example>",
        _env_file=None,
    )
    return Context(settings=settings, clock=clock)


@pytest.fixture
def mail_ctx(database_url: str, clock: SimulatedClock, sink: SmtpSink) -> Context:
    return _mail_context(database_url, clock, sink.port)


@pytest.fixture
def allow_local_webhooks(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctx.settings, "webhook_allow_private", True)


def _policy(session: Session, ctx: Context, **fields: object) -> str | None:
    fields = {"name": "MQL within an hour", "stage": "mql", "within_minutes": 60,
              "task_title": "Call the new MQL"} | fields  # fmt: skip
    created = create_sla_policy(session, ctx, SlaPolicyIn.model_validate(fields))
    session.commit()
    return created.webhook_secret


def _owned_mql(
    session: Session, ctx: Context, *, manager_email: str = "boss@funnelwise.example"
) -> tuple[int, int]:
    """A salesperson in a team with a manager, and a contact of theirs who just became an MQL."""
    manager = make_user(session, ctx, email=manager_email, role="marketer")
    rep = make_user(session, ctx, email="rep@funnelwise.example")
    create_team(session, ctx, TeamIn(name="Inside sales", manager_id=manager.id, member_ids=[rep.id]))
    ada = make_contact(
        session, ctx, email="ada@example.org", first_name="Ada", last_name="Kim", owner_id=rep.id
    )
    change_stage(session, ctx, ada.id, "mql")
    session.commit()
    return ada.id, rep.id


def test_entering_mql_opens_a_follow_up_task_for_the_owner_due_within_the_sla(
    session: Session, ctx: Context
) -> None:
    _policy(session, ctx)
    ada_id, rep_id = _owned_mql(session, ctx)
    change_stage(session, ctx, ada_id, "mql")  # the same stage again opens nothing

    (task,) = list_tasks(session, ctx).results
    assert (task.title, task.contact_id, task.owner_id, task.status) == (
        "Call the new MQL",
        ada_id,
        rep_id,
        "open",
    )
    assert task.due_at.isoformat() == "2026-11-22T02:00:00+00:00"


def test_an_overdue_task_is_mailed_to_the_manager_once(
    session: Session, mail_ctx: Context, clock: SimulatedClock, sink: SmtpSink
) -> None:
    _policy(session, mail_ctx)
    ada_id, _rep = _owned_mql(session, mail_ctx)

    early = escalate_overdue(session, mail_ctx)
    clock.advance(timedelta(minutes=61))
    due = escalate_overdue(session, mail_ctx)
    again = escalate_overdue(session, mail_ctx)

    assert (early.overdue_tasks, early.sent) == (0, 0)
    assert (due.overdue_tasks, due.queued, due.sent) == (1, 1, 1)
    assert (again.overdue_tasks, again.queued, again.sent) == (0, 0, 0)
    (message,) = sink.messages
    assert sink.recipients == [["boss@funnelwise.example"]]
    assert message["Subject"] == "Overdue: Call the new MQL — Kim Ada <ada@example.org>"
    assert message.get_content().splitlines()[:2] == [
        'The task "Call the new MQL" for Kim Ada <ada@example.org> was due 2026-11-22 11:00 KST and is still open.',
        "Owner: rep@funnelwise.example <rep@funnelwise.example>",
    ]
    ((_message_id, contact_id, properties),) = logged(session, "Sales Task Overdue")
    assert (contact_id, properties["escalated_to"]) == (ada_id, ["boss@funnelwise.example"])


def test_a_task_done_in_time_is_never_escalated(
    session: Session, mail_ctx: Context, clock: SimulatedClock, sink: SmtpSink
) -> None:
    _policy(session, mail_ctx)
    _owned_mql(session, mail_ctx)
    (task,) = list_tasks(session, mail_ctx).results
    finish_task(session, mail_ctx, task.id)
    session.commit()
    clock.advance(timedelta(hours=2))

    assert escalate_overdue(session, mail_ctx).overdue_tasks == 0
    assert sink.messages == []
    with pytest.raises(Conflict):
        finish_task(session, mail_ctx, task.id)


def test_a_mail_server_that_is_down_is_tried_again_later(
    session: Session, database_url: str, clock: SimulatedClock
) -> None:
    sink = SmtpSink()  # not started yet: the server is down
    mail_ctx = _mail_context(database_url, clock, sink.port)
    _policy(session, mail_ctx)
    _owned_mql(session, mail_ctx)
    clock.advance(timedelta(minutes=61))

    down = escalate_overdue(session, mail_ctx)
    with sink:
        clock.advance(timedelta(minutes=1))
        too_soon = escalate_overdue(session, mail_ctx)
        clock.advance(timedelta(minutes=1))
        later = escalate_overdue(session, mail_ctx)

    assert (down.sent, down.retrying) == (0, 1)
    assert (too_soon.sent, later.sent) == (0, 1)
    assert len(sink.messages) == 1


def test_a_mail_claimed_by_a_worker_that_died_is_marked_unknown_and_never_sent_twice(
    session: Session, mail_ctx: Context, clock: SimulatedClock, sink: SmtpSink
) -> None:
    _policy(session, mail_ctx)
    _owned_mql(session, mail_ctx)
    clock.advance(timedelta(minutes=61))
    escalate_overdue(session, mail_ctx)
    # As if a worker had claimed it again and died before recording the outcome.
    session.execute(update(Escalation).values(status="sending", claimed_at=clock.now()))
    session.commit()
    sink.clear()

    clock.advance(timedelta(minutes=11))
    report = escalate_overdue(session, mail_ctx)

    assert (report.unknown, report.sent) == (1, 0)
    assert sink.messages == []
    assert session.scalars(select(Escalation.status)).all() == ["unknown"]


def test_an_overdue_task_calls_a_signed_webhook(
    sessions: sessionmaker[Session],
    session: Session,
    ctx: Context,
    clock: SimulatedClock,
    allow_local_webhooks: None,
) -> None:
    with Receiver() as receiver:
        secret = _policy(session, ctx, webhook_url=receiver.url, escalate_to_manager=False)
        ada_id, rep_id = _owned_mql(session, ctx)
        clock.advance(timedelta(minutes=61))

        report = escalate_due(sessions, ctx)

    assert secret is not None
    assert report.sent == 1
    ((headers, body),) = receiver.requests
    timestamp = int(clock.now().timestamp())
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["Funnelwise-Signature"] == f"t={timestamp},v1={expected}"
    payload = json.loads(body)
    assert headers["Idempotency-Key"] == payload["id"]
    assert headers["Host"] == receiver.url.split("/")[2]
    assert (payload["type"], payload["contact"]["id"], payload["owner"]["id"]) == (
        "sales.task.overdue",
        ada_id,
        rep_id,
    )
    assert payload["task"]["due_at"] == "2026-11-22T02:00:00+00:00"


def test_a_failing_webhook_is_retried_with_the_same_idempotency_key(
    session: Session, ctx: Context, clock: SimulatedClock, allow_local_webhooks: None
) -> None:
    with Receiver(statuses=[503]) as receiver:
        _policy(session, ctx, webhook_url=receiver.url, escalate_to_manager=False)
        _owned_mql(session, ctx)
        clock.advance(timedelta(minutes=61))
        first = escalate_overdue(session, ctx)
        clock.advance(timedelta(minutes=2))
        second = escalate_overdue(session, ctx)

    assert (first.retrying, second.sent) == (1, 1)
    keys = [headers["Idempotency-Key"] for headers, _body in receiver.requests]
    assert len(keys) == 2
    assert keys[0] == keys[1]


def test_a_webhook_to_a_private_address_is_refused_without_the_setting(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    assert not ctx.settings.webhook_allow_private
    with Receiver() as receiver:
        _policy(session, ctx, webhook_url=receiver.url, escalate_to_manager=False)
        _owned_mql(session, ctx)
        clock.advance(timedelta(minutes=61))
        report = escalate_overdue(session, ctx)

    assert receiver.requests == []
    assert report.failed == 1
    (escalation,) = task_escalations(session, 1)
    assert escalation.error == (
        "127.0.0.1 resolves to 127.0.0.1, an internal address; webhooks go only to public addresses "
        "unless FUNNELWISE_WEBHOOK_ALLOW_PRIVATE=true"
    )


def test_a_task_by_hand_defaults_to_the_contacts_owner_and_bad_references_are_named(
    session: Session, ctx: Context
) -> None:
    rep = make_user(session, ctx)
    ada = make_contact(session, ctx, owner_id=rep.id)

    task = create_task(session, ctx, TaskIn(title="Send the brochure", contact_id=ada.id,
                                             due_at="2026-11-23T09:00:00+09:00"))  # fmt: skip
    with pytest.raises(InvalidInput) as bad:
        create_task(
            session, ctx, TaskIn(title="x", contact_id=999, owner_id=998, due_at="2026-11-23T09:00:00+09:00")
        )
    with pytest.raises(InvalidInput) as naive:
        create_task(session, ctx, TaskIn(title="x", due_at="2026-11-23T09:00:00"))

    assert (task.owner_id, task.due_at.isoformat()) == (rep.id, "2026-11-23T00:00:00+00:00")
    assert str(bad.value) == "contact_id: no contact with id 999; owner_id: no user with id 998"
    assert [e.field for e in naive.value.errors] == ["due_at"]


def test_an_sla_policy_refuses_a_bad_address_and_a_url_that_is_not_http(
    session: Session, ctx: Context
) -> None:
    with pytest.raises(InvalidInput) as bad:
        create_sla_policy(session, ctx, SlaPolicyIn(name="x", stage="mql", within_minutes=60,
                                                   escalate_email="boss@", webhook_url="ftp://example.org/x"))  # fmt: skip

    assert [e.field for e in bad.value.errors] == ["escalate_email", "webhook_url"]
