"""An operator runs `funnelwise worker` beside the API, or lets `funnelwise serve` start its own."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.tracking.models import Event
from funnelwise.tracking.sources import create_source
from tests.conftest import TEST_SECRET

SECONDS = 15
CALLS = [
    {"type": "identify", "messageId": "m-1", "userId": "u-1", "traits": {"email": "kim@acme.co.kr"}},
    {"type": "track", "messageId": "m-2", "userId": "u-1", "event": "Signed Up"},
]


def _environment(database_url: str) -> dict[str, str]:
    """This process's environment without any FUNNELWISE_ setting, pointed at the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNNELWISE_")}
    return env | {"FUNNELWISE_DATABASE_URL": database_url, "FUNNELWISE_SECRET_KEY": TEST_SECRET}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _logged(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Event.message_id).order_by(Event.id)))


def _until(check: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SECONDS
    while not check():
        if process.poll() is not None:
            pytest.fail(f"the process exited with {process.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"nothing after {SECONDS} s:\n{log.read_text()}")
        time.sleep(0.05)


@pytest.fixture
def write_key(sessions: sessionmaker[Session], ctx: Context) -> str:
    with sessions.begin() as session:
        return create_source(session, ctx, "website").write_key


@pytest.fixture
def start(database_url: str, tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    """Starts `funnelwise ARGS…` on the test database; whatever is still running at the end is killed."""
    started: list[subprocess.Popen[bytes]] = []

    def run(*args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{args[0]}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "funnelwise", *args],
                cwd=tmp_path,
                env=_environment(database_url),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process, log

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_funnelwise_worker_logs_what_the_api_accepted_and_stops_on_ctrl_c(
    start: Callable[..., tuple[subprocess.Popen[bytes], Path]],
    live_server: str,
    write_key: str,
    sessions: sessionmaker[Session],
) -> None:
    worker, log = start("worker")

    answer = httpx.post(f"{live_server}/v1/batch", json={"batch": CALLS}, auth=(write_key, ""))

    assert (answer.status_code, answer.json()) == (200, {"success": True})
    _until(lambda: _logged(sessions) == ["m-1", "m-2"], worker, log)
    worker.send_signal(signal.SIGINT)
    assert worker.wait(10) == 0, log.read_text()


def test_funnelwise_worker_stops_cleanly_on_sigterm_after_the_batch_in_hand(
    start: Callable[..., tuple[subprocess.Popen[bytes], Path]], sessions: sessionmaker[Session]
) -> None:
    worker, log = start("worker")
    _until(lambda: "Funnelwise worker (" in log.read_text(), worker, log)

    worker.send_signal(signal.SIGTERM)

    assert worker.wait(10) == 0, log.read_text()
    assert "Funnelwise worker (database: " in log.read_text()


def test_funnelwise_serve_logs_what_it_accepts_through_its_worker_which_ends_with_it(
    start: Callable[..., tuple[subprocess.Popen[bytes], Path]],
    write_key: str,
    sessions: sessionmaker[Session],
) -> None:
    port = _free_port()
    server, log = start("serve", "--port", str(port))
    _until(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), server, log)
    children = _children(server.pid)

    answer = httpx.post(f"http://127.0.0.1:{port}/v1/batch", json={"batch": CALLS}, auth=(write_key, ""))

    assert (answer.status_code, answer.json()) == (200, {"success": True})
    _until(lambda: _logged(sessions) == ["m-1", "m-2"], server, log)
    assert len(children) == 1, children  # the worker
    server.terminate()
    # Uvicorn shuts down gracefully on SIGTERM, then re-raises the signal so the caller sees it.
    assert server.wait(15) in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete." in log.read_text()
    assert not Path(f"/proc/{children[0]}").exists()  # stopped, and waited for, by the server


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
