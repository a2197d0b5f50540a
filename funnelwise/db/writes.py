"""Writing transactions: retried when PostgreSQL breaks a conflict, taking turns on SQLite.

SQLite has one writer. Within a process writers queue on a condition, across processes (the API
and its worker process) on a file lock, and a sender waiting for its answer goes before
background work.
"""

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

_T = TypeVar("_T")
RETRIES = 5
# Deadlock, serialization failure, and a unique key a concurrent transaction took first: each
# goes away when the whole batch runs again and sees what the other transaction committed.
_RETRYABLE = frozenset({"40P01", "40001", "23505"})


def write_retrying(
    sessions: sessionmaker[Session], work: Callable[[Session], _T], *, urgent: bool = False
) -> _T:
    """Runs `work` in one transaction, again when PostgreSQL picks it to break a conflict.

    `urgent` work (a sender waiting for its answer) goes before background work for SQLite's one
    write lock in this process.
    """
    for attempt in range(RETRIES):
        try:
            with _one_writer(sessions, urgent), sessions.begin() as session:
                return work(session)
        except (OperationalError, IntegrityError) as exc:
            if attempt == RETRIES - 1 or not _is_retryable(exc):
                raise
            time.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


class _WriterGate:
    """A turn at SQLite's one writer, where senders waiting for an answer go before background work.

    Writers queue on a condition within a process and on an exclusive `flock` of a file beside
    the database across processes (the API and its worker process): both hand the lock on the
    moment it is free, where SQLite's busy handler sleeps and polls and under steady writing can
    miss every gap for seconds. While a sender's call is being handled (`intent`), its process
    holds a shared lock on a second file; background work waits until nobody does, though never
    longer than `PATIENCE` seconds, so it always moves on.
    """

    PATIENCE = 0.5
    # How often background work looks again whether the senders are done.
    LOOK_AGAIN = 0.005

    def __init__(self, database: str | None) -> None:
        self._condition = threading.Condition()
        self._busy = False
        self._urgent = 0
        self._files: tuple[int, int, int] | None = None
        if database:
            lock = os.open(f"{database}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
            intent = os.open(f"{database}.write-intent", os.O_RDWR | os.O_CREAT, 0o600)
            # Opened twice: a lock is held by an open file, so only a second one can see this
            # process's own intent as a conflict.
            look = os.open(f"{database}.write-intent", os.O_RDWR)
            self._files = (lock, intent, look)

    @contextmanager
    def intent(self) -> Iterator[None]:
        """Marks a sender's call in progress, from reading its body to answering it."""
        with self._condition:
            self._urgent += 1
            if self._urgent == 1 and self._files:
                fcntl.flock(self._files[1], fcntl.LOCK_SH)
        try:
            yield
        finally:
            with self._condition:
                self._urgent -= 1
                if self._urgent == 0 and self._files:
                    fcntl.flock(self._files[1], fcntl.LOCK_UN)
                self._condition.notify_all()

    @contextmanager
    def turn(self, urgent: bool) -> Iterator[None]:
        if not urgent:
            self._wait_for_senders()
        with self._condition:
            self._condition.wait_for(lambda: not self._busy)
            self._busy = True
        try:
            if self._files:
                fcntl.flock(self._files[0], fcntl.LOCK_EX)
            try:
                yield
            finally:
                if self._files:
                    fcntl.flock(self._files[0], fcntl.LOCK_UN)
        finally:
            with self._condition:
                self._busy = False
                self._condition.notify_all()

    def senders_busy(self) -> bool:
        """Whether a sender's call is being handled, in this process or another."""
        if self._files is None:
            with self._condition:
                return self._urgent > 0
        try:
            fcntl.flock(self._files[2], fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(self._files[2], fcntl.LOCK_UN)
        return False

    def _wait_for_senders(self) -> None:
        deadline = time.monotonic() + self.PATIENCE
        while time.monotonic() < deadline and self.senders_busy():
            time.sleep(self.LOOK_AGAIN)


def urgent_writes(sessions: sessionmaker[Session]) -> AbstractContextManager[Any]:
    """Background writers to SQLite wait while this is held: a sender waits for an answer."""
    gate = _gate(sessions)
    return gate.intent() if gate is not None else nullcontext()


def senders_busy(sessions: sessionmaker[Session]) -> bool:
    """On SQLite, whether a sender waits for an answer now: background work then takes a small bite."""
    gate = _gate(sessions)
    return gate is not None and gate.senders_busy()


def _one_writer(sessions: sessionmaker[Session], urgent: bool) -> AbstractContextManager[Any]:
    """On SQLite, writers take turns here, urgent ones first."""
    gate = _gate(sessions)
    return gate.turn(urgent) if gate is not None else nullcontext()


def _gate(sessions: sessionmaker[Session]) -> _WriterGate | None:
    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        return None
    with _GATES_LOCK:
        key = engine.url.render_as_string()
        if key not in _GATES:
            database = engine.url.database
            _GATES[key] = _WriterGate(database if database and database != ":memory:" else None)
    return _GATES[key]


_GATES: dict[str, _WriterGate] = {}
_GATES_LOCK = threading.Lock()


def _is_retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE
