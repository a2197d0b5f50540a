"""A broadcast to a segment or list writes one outbox message per member, once, however often it runs."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.errors import Conflict
from funnelwise.messaging.broadcasts import (
    BroadcastIn,
    advance_broadcasts,
    cancel_broadcast,
    create_broadcast,
    get_broadcast,
    schedule_broadcast,
    send_broadcast,
    start_broadcast,
)
from funnelwise.messaging.broadcasts.writing import write_chunk
from funnelwise.messaging.models import Broadcast
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.reactions.periodic import run_periodic
from tests.factories import make_contact
from tests.messaging.broadcasts.support import customers, email_template, outbox, static_list, with_settings


def _create(session: Session, ctx: Context, **fields: object) -> int:
    fields = {"name": "Winter sale", "template": "winter", "segment": "Customers", **fields}
    created = create_broadcast(session, ctx, BroadcastIn.model_validate(fields))
    session.commit()
    return created.id


def test_a_broadcast_to_a_segment_queues_exactly_one_message_per_member(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        members = customers(session, ctx, 5)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx)

    sent = send_broadcast(sessions, ctx, broadcast_id)

    rows = outbox(sessions, broadcast_id)
    assert [r.contact_id for r in rows] == members
    assert {(r.status, r.template, r.variant, r.channel, r.purpose, r.topic, r.source) for r in rows} == {
        ("queued", "winter", None, "email", "advertising", "promotions", "broadcast")
    }
    assert [r.idempotency_key for r in rows] == [f"bc-{broadcast_id}-{c}" for c in members]
    assert {r.due_at for r in rows} == {ctx.clock.now()}
    assert {str(r.variables) for r in rows} == {"{}"}
    assert (sent.status, sent.audience, sent.started_at, sent.finished_at) == (
        "sent",
        5,
        ctx.clock.now(),
        ctx.clock.now(),
    )


def test_sending_again_is_refused_and_writes_nobody_twice(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        customers(session, ctx, 3)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx)
    send_broadcast(sessions, ctx, broadcast_id)

    with pytest.raises(Conflict, match="'Winter sale' is sent and cannot be sent again"):
        send_broadcast(sessions, ctx, broadcast_id)

    assert len(outbox(sessions, broadcast_id)) == 3


def test_a_send_that_crashed_after_its_first_chunk_resumes_without_doubling_anyone(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    small = with_settings(ctx, broadcast_chunk_size=3)
    with sessions() as session:
        members = customers(session, ctx, 8)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx, throttle_per_minute=60)
    # The first run: started, its first chunk committed, then the process died.
    with sessions.begin() as session:
        start_broadcast(session, small, broadcast_id)
    with sessions.begin() as session:
        first = write_chunk(session, small, session.get(Broadcast, broadcast_id), after=0, offset=0)
    assert (first.next_after, first.members, first.written) == (members[2], 3, 3)

    ctx.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    resumed = send_broadcast(sessions, small, broadcast_id)

    rows = outbox(sessions, broadcast_id)
    assert [r.contact_id for r in rows] == members
    # The resumed rows keep the pace the first run set: one a second from its start.
    started = resumed.started_at
    assert started is not None
    assert [r.due_at - started for r in rows] == [timedelta(seconds=k) for k in range(8)]
    assert resumed.status == "sent"


def test_a_stalled_send_is_finished_by_the_worker_tick(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    small = with_settings(ctx, broadcast_chunk_size=2)
    with sessions() as session:
        members = customers(session, ctx, 5)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx)
    with sessions.begin() as session:
        start_broadcast(session, small, broadcast_id)
        write_chunk(session, small, session.get(Broadcast, broadcast_id), after=0, offset=0)

    assert advance_broadcasts(sessions, small) == 0  # still fresh: its writer may be alive
    clock.advance(timedelta(minutes=small.settings.broadcast_stale_minutes + 1))
    assert advance_broadcasts(sessions, small) == 1

    assert [r.contact_id for r in outbox(sessions, broadcast_id)] == members
    with sessions() as session:
        assert get_broadcast(session, broadcast_id).status == "sent"


def test_a_throttle_spreads_the_messages_over_minutes(sessions: sessionmaker[Session], ctx: Context) -> None:
    with sessions() as session:
        customers(session, ctx, 7)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx, throttle_per_minute=3)

    send_broadcast(sessions, with_settings(ctx, broadcast_chunk_size=2), broadcast_id)

    start = ctx.clock.now()
    assert [r.due_at - start for r in outbox(sessions, broadcast_id)] == [
        timedelta(seconds=20 * k) for k in range(7)
    ]


def test_send_time_optimisation_asks_the_sender_for_each_contacts_best_hour(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx).id
        list_id = static_list(session, ctx, "Newsletter", [ada])
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx, segment=None, list=str(list_id), send_time_optimization=True)

    send_broadcast(sessions, ctx, broadcast_id)

    assert [(r.contact_id, r.variables) for r in outbox(sessions, broadcast_id)] == [
        (ada, {"send_time": "best"})
    ]


def test_a_list_broadcast_goes_to_the_lists_members_by_name(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada, bob, _cho = (make_contact(session, ctx).id for _ in range(3))
        static_list(session, ctx, "Newsletter", [ada, bob])
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx, segment=None, list="Newsletter")

    send_broadcast(sessions, ctx, broadcast_id)

    assert [r.contact_id for r in outbox(sessions, broadcast_id)] == [ada, bob]


def test_a_scheduled_broadcast_starts_at_its_time_with_the_segment_as_it_is_then(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        members = customers(session, ctx, 2)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx)
        scheduled = schedule_broadcast(session, ctx, broadcast_id, clock.now() + timedelta(hours=2))
        session.commit()
        assert scheduled.status == "scheduled"

    clock.advance(timedelta(hours=1))
    assert advance_broadcasts(sessions, ctx) == 0
    with sessions() as session:
        late = make_contact(session, ctx, lifecycle_stage="customer").id
    clock.advance(timedelta(hours=1))
    assert advance_broadcasts(sessions, ctx) == 1
    assert advance_broadcasts(sessions, ctx) == 0

    assert [r.contact_id for r in outbox(sessions, broadcast_id)] == [*members, late]
    with sessions() as session:
        done = get_broadcast(session, broadcast_id)
    assert (done.status, done.started_at, done.audience) == ("sent", clock.now(), 3)


def test_cancelling_suppresses_the_messages_still_queued_and_stops_the_rest(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        members = customers(session, ctx, 4)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx, throttle_per_minute=1)
    send_broadcast(sessions, ctx, broadcast_id)
    # The sender already sent the first message.
    with sessions.begin() as session:
        first = session.query(OutboxMessage).filter_by(contact_id=members[0], broadcast_id=broadcast_id).one()
        first.status, first.sent_at = OutboxStatus.SENT, ctx.clock.now()

    with sessions.begin() as session:
        cancelled = cancel_broadcast(session, ctx, broadcast_id)

    assert cancelled.status == "cancelled"
    assert [(r.status, r.reason) for r in outbox(sessions, broadcast_id)] == [("sent", None)] + [
        ("suppressed", "broadcast cancelled")
    ] * 3
    with pytest.raises(Conflict, match="is cancelled and cannot be sent again"):
        send_broadcast(sessions, ctx, broadcast_id)


def test_a_cancelled_draft_is_never_started_by_the_tick(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        customers(session, ctx, 2)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx, scheduled_at=(clock.now() + timedelta(hours=1)).isoformat())
        cancel_broadcast(session, ctx, broadcast_id)
        session.commit()

    clock.advance(timedelta(hours=2))

    assert advance_broadcasts(sessions, ctx) == 0
    assert outbox(sessions, broadcast_id) == []


def test_the_workers_periodic_pass_starts_a_due_broadcast(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        members = customers(session, ctx, 2)
        email_template(session, ctx, "winter")
        broadcast_id = _create(session, ctx, scheduled_at=(clock.now() + timedelta(minutes=5)).isoformat())
    clock.advance(timedelta(minutes=5))

    run_periodic(sessions, ctx, full_pass=False)

    assert [r.contact_id for r in outbox(sessions, broadcast_id)] == members
