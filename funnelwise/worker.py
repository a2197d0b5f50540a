"""The background worker: consumers of the log that react to what the API accepted.

It runs the resolver (identity resolution of accepted tracking messages), then the reactions of the
contacts those messages and other changes touched (scores, stages, segments, workflow triggers),
then the workflow enrollments that are due, then the messages due to be sent, and, as time
passes, the work that falls due with time alone (stale segments, overdue tasks, scheduled and date
triggers). It wakes the moment there is
work: a byte on its wake pipe from the `funnelwise serve` that started it, a PostgreSQL NOTIFY from
any server, and a poll as the fallback.

`funnelwise serve` starts one as a child process (`WorkerProcess`) rather than a thread: the
worker's CPU-bound batches would otherwise hold the API's interpreter lock, and accepted calls
would wait on them. `funnelwise worker` runs one alone, as many as wanted on PostgreSQL.
"""

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time

import psycopg
from sqlalchemy import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.db.notify import CHANNEL
from funnelwise.messaging.sender import Sender
from funnelwise.reactions.periodic import run_periodic
from funnelwise.reactions.run import react_pending
from funnelwise.tracking.resolver import resolve_pending
from funnelwise.workflows.engine import run_due

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# The worker that `funnelwise serve` starts yields the CPU to it: accepted calls are answered
# first, and what they started is worked off in the time left over.
NICENESS = 10
# After the database went away, how long to wait before asking it again.
BACKOFF_SECONDS = 2.0
# How often the worker looks for work that falls due with time alone (overdue follow-ups, stale
# segments); the stage rules' full pass runs every `segment_refresh_minutes`.
PERIODIC_SECONDS = 60.0


class Worker:
    def __init__(
        self, sessions: sessionmaker[Session], ctx: Context, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self._sessions = sessions
        self._ctx = ctx
        self._poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._sender: Sender | None = None

    def wake(self) -> None:
        """There is new work: the loop runs now instead of at its next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self, wake_fd: int | None = None) -> None:
        """Works until stopped: a full batch is followed by the next at once, else it waits for a wake.

        With `wake_fd`, a byte on it wakes the loop, and its end (the parent is gone) stops it.
        """
        helpers = []
        if self._sessions.kw["bind"].dialect.name == "postgresql":
            helpers.append(threading.Thread(target=self._listen, name="funnelwise-listen", daemon=True))
        if wake_fd is not None:
            helpers.append(
                threading.Thread(
                    target=self._read_wakes, args=(wake_fd,), name="funnelwise-wake", daemon=True
                )
            )
        for helper in helpers:
            helper.start()
        next_tick = next_full_pass = time.monotonic()
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self._work_once()
                if (now := time.monotonic()) >= next_tick:
                    self._periodic(full_pass=now >= next_full_pass)
                    next_tick = now + PERIODIC_SECONDS
                    if now >= next_full_pass:
                        next_full_pass = now + self._ctx.settings.segment_refresh_minutes * 60
            except (OperationalError, InterfaceError):
                logger.warning("the database is unreachable; the worker tries again shortly", exc_info=True)
                self._stop.wait(BACKOFF_SECONDS)
                continue
            if not busy:
                self._wake.wait(self._poll_seconds)
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    def _work_once(self) -> bool:
        """One batch of each kind of waiting work; whether any was found (more may be waiting)."""
        resolved = resolve_pending(self._sessions, self._ctx)
        reacted = react_pending(self._sessions, self._ctx)
        ran = run_due(self._sessions, self._ctx)
        return bool(resolved.claimed or reacted.claimed or ran.claimed or self._deliver())

    def _deliver(self) -> bool:
        """One batch of due messages; a fault there must not stop the rest of the worker's work."""
        try:
            return self.sender.deliver_due().claimed > 0
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            logger.exception("sending a batch of messages failed; it is tried again after a pause")
            return False

    @property
    def sender(self) -> Sender:
        """Made on first use, in the loop's thread: its event loop and pooled connections stay there."""
        if self._sender is None:
            self._sender = Sender(self._sessions, self._ctx)
        return self._sender

    def _periodic(self, full_pass: bool) -> None:
        try:
            run_periodic(self._sessions, self._ctx, full_pass=full_pass)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            # A fault in time-driven work must not stop the worker from logging what arrives.
            logger.exception("the periodic pass failed; it runs again at the next tick")

    def _read_wakes(self, wake_fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([wake_fd], [], [], self._poll_seconds)
            if ready and not os.read(wake_fd, 4096):
                logger.info("the server that started this worker is gone; stopping")
                self.stop()
                return
            if ready:
                self._wake.set()

    def _listen(self) -> None:
        """Wakes the loop on every NOTIFY from an accepting transaction, in whichever process."""
        url = make_url(self._sessions.kw["bind"].url).set(drivername="postgresql")
        while not self._stop.is_set():
            try:
                with psycopg.connect(
                    url.render_as_string(hide_password=False), autocommit=True
                ) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=self._poll_seconds, stop_after=1):
                            self._wake.set()
            except psycopg.OperationalError:
                logger.warning("lost the LISTEN connection; polling until it is back", exc_info=True)
                self._stop.wait(BACKOFF_SECONDS)


class WorkerProcess:
    """A `funnelwise worker` child of this process, woken through a pipe; it ends when this one does."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._process: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "funnelwise",
                "worker",
                "--wake-fd",
                str(read_fd),
                "--niceness",
                str(NICENESS),
            ],
            pass_fds=(read_fd,),
            env=self._environment(),
        )
        os.close(read_fd)
        self._wake_fd = write_fd

    def _environment(self) -> dict[str, str]:
        """This process's environment with its settings, which may not have come from it."""
        settings = self._settings.model_dump(mode="json", exclude_none=True)
        settings["secret_key"] = self._settings.resolved_secret_key()
        # Lists and mappings are read back from the environment as JSON.
        return os.environ | {
            f"FUNNELWISE_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
            for name, value in settings.items()
        }

    def wake(self) -> None:
        if self._wake_fd is None:
            return
        try:
            os.write(self._wake_fd, b"\0")
        except BlockingIOError:
            pass  # The pipe is full of wakes the worker has not read yet: it is awake already.
        except BrokenPipeError:
            logger.warning("the worker process has exited; accepted messages wait for the next one")

    def stop(self, timeout: float = 10) -> None:
        if self._wake_fd is not None:
            os.close(self._wake_fd)  # The worker reads the end of its pipe and stops.
            self._wake_fd = None
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.terminate()
                self._process.wait(timeout)
            self._process = None
