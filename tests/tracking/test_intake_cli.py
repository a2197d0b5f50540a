"""An operator asks what the worker has not logged yet, reads why calls failed, and retries them."""

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.cli.support import Funnelwise
from tests.tracking.support import NAMELESS, queue_nameless_track


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url)


def test_source_status_counts_the_intake_and_shows_the_latest_failures_until_they_are_retried(
    funnelwise: Funnelwise,
    accept: Callable[..., httpx.Response],
    resolve: Callable[[], int],
    sessions: sessionmaker[Session],
) -> None:
    empty = funnelwise("source", "status")
    assert (empty.exit_code, empty.stdout, empty.stderr) == (0, "waiting\t0\nfailed\t0\n", "")

    accept({"type": "track", "messageId": "m-1", "userId": "u-1", "event": "Signed Up"})
    queue_nameless_track(sessions, "poison")
    resolve()
    accept({"type": "track", "messageId": "m-2", "userId": "u-1", "event": "Signed Up"})

    status = funnelwise("source", "status")
    retried = funnelwise("source", "retry")
    after = funnelwise("source", "status")
    again = funnelwise("source", "retry")

    error = NAMELESS[sessions.kw["bind"].dialect.name]
    assert status.exit_code == 0
    assert status.stdout == f"waiting\t1\nfailed\t1\n2026-11-22T01:00:00+00:00\tpoison\t{error}\n"
    assert status.stderr.splitlines() == [
        "The latest 1 of 1 failed, newest first:",
        "Once the cause is fixed, `funnelwise source retry` puts them back in the queue.",
    ]
    assert (retried.exit_code, retried.stderr) == (0, "Put 1 failed call back in the queue.\n")
    assert (after.exit_code, after.stdout) == (0, "waiting\t2\nfailed\t0\n")
    assert (again.exit_code, again.stderr) == (0, "No failed calls to retry.\n")


def test_source_status_shows_as_many_failures_as_asked(
    funnelwise: Funnelwise,
    accept: Callable[..., httpx.Response],
    resolve: Callable[[], int],
    sessions: sessionmaker[Session],
) -> None:
    accept({"type": "track", "messageId": "m-1", "userId": "u-1", "event": "Signed Up"})
    for number in range(3):
        queue_nameless_track(sessions, f"poison-{number}")
    resolve()

    two = funnelwise("source", "status", "--limit", "2")
    none = funnelwise("source", "status", "--limit", "0")
    negative = funnelwise("source", "status", "--limit", "-1")

    assert [line.split("\t")[1] for line in two.stdout.splitlines()[2:]] == ["poison-2", "poison-1"]
    assert two.stderr.splitlines()[0] == "The latest 2 of 3 failed, newest first:"
    assert (none.stdout, none.stderr) == ("waiting\t0\nfailed\t3\n", "")
    assert negative.exit_code == 2
    assert "Invalid value for '--limit'" in negative.stderr
