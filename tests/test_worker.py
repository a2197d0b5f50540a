"""The worker logs what the tracking API accepted, with nobody calling the resolver, until it is stopped."""

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.reactions.run import queue_status
from funnelwise.segments.models import SegmentMembership
from funnelwise.segments.schemas import SegmentIn
from funnelwise.segments.service import create_segment
from funnelwise.tracking.models import Event
from funnelwise.tracking.resolver import IntakeStatus, intake_status
from funnelwise.tracking.sources import create_source
from funnelwise.worker import Worker
from tests.tracking.support import queue_nameless_track

# Far longer than any test waits: what these workers do, they do because they were woken.
LONG_POLL = 5.0


def track(message_id: str) -> dict[str, Any]:
    return {"type": "track", "messageId": message_id, "userId": "u-1", "event": "Signed Up"}


def logged(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Event.message_id).order_by(Event.id)))


def eventually(check: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def accept(live_server: str, sessions: sessionmaker[Session], ctx: Context) -> Iterator[Callable[..., int]]:
    """Sends a batch as a fresh source; the test server runs no worker of its own."""
    with sessions.begin() as session:
        write_key = create_source(session, ctx, "website").write_key
    with httpx.Client(base_url=live_server, auth=(write_key, ""), timeout=30) as client:
        yield lambda *messages: client.post("/v1/batch", json={"batch": list(messages)}).status_code


class Running:
    """A worker on its own thread, as `funnelwise worker` runs it."""

    def __init__(self, worker: Worker, wake_fd: int | None = None) -> None:
        self.worker = worker
        self.thread = threading.Thread(target=worker.run, args=(wake_fd,), daemon=True)
        self.thread.start()

    def stopped(self, seconds: float = 3.0) -> bool:
        self.thread.join(seconds)
        return not self.thread.is_alive()


def test_a_running_worker_logs_accepted_calls_and_stops_when_told(
    accept: Callable[..., int], sessions: sessionmaker[Session], ctx: Context
) -> None:
    running = Running(Worker(sessions, ctx, poll_seconds=0.05))
    try:
        assert accept(track("m-1"), track("m-2")) == 200
        assert accept(track("m-3")) == 200

        assert eventually(lambda: logged(sessions) == ["m-1", "m-2", "m-3"]), logged(sessions)
        with sessions() as session:
            assert intake_status(session) == IntakeStatus(waiting=0, failed=0)
    finally:
        running.worker.stop()
    assert running.stopped()


def test_a_running_worker_sets_a_poison_message_aside_and_keeps_logging(
    accept: Callable[..., int], sessions: sessionmaker[Session], ctx: Context
) -> None:
    accept(track("m-1"))
    queue_nameless_track(sessions, "poison")
    accept(track("m-3"))

    running = Running(Worker(sessions, ctx, poll_seconds=0.05))
    try:
        assert eventually(lambda: logged(sessions) == ["m-1", "m-3"]), logged(sessions)
        accept(track("m-4"))
        assert eventually(lambda: logged(sessions) == ["m-1", "m-3", "m-4"]), logged(sessions)
        with sessions() as session:
            assert intake_status(session) == IntakeStatus(waiting=0, failed=1)
    finally:
        running.worker.stop()
    assert running.stopped()


def test_a_byte_on_the_wake_pipe_wakes_the_worker_and_the_pipe_s_end_stops_it(
    accept: Callable[..., int], sessions: sessionmaker[Session], ctx: Context
) -> None:
    read_fd, write_fd = os.pipe()
    running = Running(Worker(sessions, ctx, poll_seconds=LONG_POLL), wake_fd=read_fd)
    try:
        accept(track("m-1"))
        os.write(write_fd, b"\0")

        assert eventually(lambda: logged(sessions) == ["m-1"]), logged(sessions)
    finally:
        os.close(write_fd)  # what a server's exit does: the worker it started stops
    assert running.stopped()
    os.close(read_fd)


def test_a_running_worker_puts_the_contact_of_an_accepted_call_in_its_segment(
    accept: Callable[..., int], sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions.begin() as session:
        segment = create_segment(session, ctx, SegmentIn(name="Signed up", condition={"event": "Signed Up"}))
    running = Running(Worker(sessions, ctx, poll_seconds=0.05))
    try:
        assert accept(track("m-1")) == 200

        def members() -> list[int]:
            with sessions() as session:
                return list(
                    session.scalars(
                        select(SegmentMembership.contact_id).where(
                            SegmentMembership.segment_id == segment.segment.id
                        )
                    )
                )

        assert eventually(lambda: len(members()) == 1), members()
        with sessions() as session:
            assert queue_status(session).due == 0
            entered = session.scalars(select(Event.contact_id).where(Event.name == "Segment Entered")).all()
        assert entered == members()
    finally:
        running.worker.stop()
    assert running.stopped()
