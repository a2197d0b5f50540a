"""The resolver logs what the intake holds: each message exactly once, a poison message set aside."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.tracking.models import Event, IntakeMessage
from funnelwise.tracking.resolver import IntakeStatus, Resolved, intake_status, resolve_pending, retry_failed
from tests.tracking.support import NAMELESS, queue_nameless_track

Accept = Callable[..., httpx.Response]
Resolve = Callable[[], int]


def track(message_id: str, event: str = "Signed Up", **fields: Any) -> dict[str, Any]:
    return {"type": "track", "messageId": message_id, "userId": "u-1", "event": event, **fields}


def logged(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Event.message_id).order_by(Event.id)))


def status(sessions: sessionmaker[Session]) -> IntakeStatus:
    with sessions() as session:
        return intake_status(session)


def test_a_poison_message_is_set_aside_with_its_error_and_the_rest_of_its_batch_is_logged(
    accept: Accept,
    sessions: sessionmaker[Session],
    ctx: Context,
    clock: SimulatedClock,
) -> None:
    accept(track("m-1"))
    poison = queue_nameless_track(sessions, "poison")
    accept(track("m-3"), track("m-4"))
    clock.advance(timedelta(minutes=5))

    done = resolve_pending(sessions, ctx)

    assert done == Resolved(claimed=4, logged=3, failed=1)
    assert logged(sessions) == ["m-1", "m-3", "m-4"]
    assert status(sessions) == IntakeStatus(waiting=0, failed=1)
    with sessions() as session:
        row = session.get(IntakeMessage, poison)
        assert row is not None
        assert (row.message_id, row.failed_at) == ("poison", clock.now())
        assert row.error is not None
        assert row.error.splitlines()[0] == NAMELESS[sessions.kw["bind"].dialect.name]
    # Set aside, it holds up nothing: later calls are logged, and it is not tried again unasked.
    accept(track("m-5"))
    assert resolve_pending(sessions, ctx) == Resolved(claimed=1, logged=1)
    assert resolve_pending(sessions, ctx) == Resolved()
    assert logged(sessions) == ["m-1", "m-3", "m-4", "m-5"]


def test_retry_puts_a_failed_message_back_and_once_its_cause_is_gone_it_is_logged(
    accept: Accept, sessions: sessionmaker[Session], ctx: Context, resolve: Resolve
) -> None:
    poison = queue_nameless_track(sessions, "poison")
    accept(track("m-2"))
    resolve()
    assert status(sessions) == IntakeStatus(waiting=0, failed=1)

    with sessions.begin() as session:
        assert retry_failed(session) == 1
    assert status(sessions) == IntakeStatus(waiting=1, failed=0)
    with sessions() as session:
        row = session.get(IntakeMessage, poison)
        assert row is not None
        assert (row.failed_at, row.error) == (None, None)

    # Tried again unchanged, it fails again and is set aside again.
    assert resolve_pending(sessions, ctx) == Resolved(claimed=1, failed=1)
    assert status(sessions) == IntakeStatus(waiting=0, failed=1)

    # An operator repairs the row; the retry logs it.
    with sessions.begin() as session:
        payload = session.get(IntakeMessage, poison).payload.replace('"name":null', '"name":"Repaired"')  # type: ignore[union-attr]
        session.execute(update(IntakeMessage).where(IntakeMessage.id == poison).values(payload=payload))
        assert retry_failed(session) == 1
    assert resolve_pending(sessions, ctx) == Resolved(claimed=1, logged=1)
    assert logged(sessions) == ["m-2", "poison"]
    assert status(sessions) == IntakeStatus(waiting=0, failed=0)
    with sessions.begin() as session:
        assert retry_failed(session) == 0


def test_two_resolvers_racing_log_every_message_exactly_once(
    accept: Accept, sessions: sessionmaker[Session], ctx: Context
) -> None:
    for batch in range(6):
        answer = accept(*[track(f"m-{batch}-{n}", anonymousId=f"a-{n % 7}") for n in range(50)])
        assert answer.json() == {"success": True}
    start = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def resolver(number: int) -> None:
        start.wait(timeout=10)
        while (done := resolve_pending(sessions, ctx, limit=20)).claimed:
            claimed[number].append(done.claimed)

    threads = [threading.Thread(target=resolver, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(claimed[0]) + sum(claimed[1]) == 300
    assert sorted(logged(sessions)) == sorted(f"m-{b}-{n}" for b in range(6) for n in range(50))
    with sessions() as session:
        assert session.scalar(select(func.count(func.distinct(Event.message_id)))) == 300
    assert status(sessions) == IntakeStatus(waiting=0, failed=0)
