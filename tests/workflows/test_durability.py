"""Workers killed at any instruction lose nothing and do nothing twice: every journey ends, once.

Real `funnelwise worker` processes run a journey for 300 contacts on the real clock and are killed
with SIGKILL at random moments, again and again, and started again at once (one at a time on
SQLite, which runs one worker in production; two at once on PostgreSQL). When every enrollment has
finished, each contact has exactly the path its journey takes, and exactly one message for each
send on it. The workers also deliver those messages to a real SMTP server: no email arrives twice,
every message the outbox calls sent arrived, and the rest are the few a kill left unknown.
"""

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SystemClock
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.workflows.models import Enrollment, StepRun
from funnelwise.workflows.schemas import EnrollIn
from funnelwise.workflows.service import apply_workflow, enroll_contacts, resume_workflow
from tests.conftest import TEST_SECRET
from tests.factories import make_template
from tests.messaging.support import SmtpSink

CONTACTS = 300
# Contacts are enrolled in chunks while the workers run, so the work comes in many batches.
CHUNK = 10
ENROLL_EVERY = 0.6
# A worker is killed this long after it has started (its imports take seconds on a busy machine).
KILL_AFTER = (0.05, 1.0)
# After this long the workers are left alone to finish, so a slow machine ends the test in time;
# the kills before it are what the test is about.
CHAOS_SECONDS = 30
TIMEOUT = 60
READY = "Funnelwise worker ("
LEASE_SECONDS = 2
BATCH = 50

JOURNEY = {
    "name": "durability",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "hello", "type": "send", "channel": "email", "template": "welcome", "next": "pause"},
        {"id": "pause", "type": "wait", "duration": "2s", "next": "branch"},
        {
            "id": "branch",
            "type": "if_else",
            "condition": {"property": "plan", "operator": "equals", "value": "pro"},
            "then": "pro",
            "else": "basic",
        },
        {"id": "pro", "type": "send", "channel": "email", "template": "pro-offer", "next": "last"},
        {"id": "basic", "type": "send", "channel": "email", "template": "basic-offer", "next": "last"},
        {"id": "last", "type": "send", "channel": "email", "template": "goodbye"},
    ],
}
SENDS = {"hello", "pro", "basic", "last"}


def expected_path(plan: str) -> list[str]:
    return ["hello", "pause", "branch", "pro" if plan == "pro" else "basic", "last"]


@dataclass
class _Slot:
    """One worker place: the process in it, when it said it had started, and when it dies."""

    number: int
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    kill_at: float | None = None
    lives: int = 0


@dataclass
class _Chaos:
    database_url: str
    smtp_port: int
    workdir: Path
    rng: random.Random
    slots: list[_Slot]
    kills: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self, slot: _Slot) -> None:
        slot.lives += 1
        slot.log = self.workdir / f"worker-{slot.number}-{slot.lives}.log"
        self.logs.append(slot.log)
        with slot.log.open("wb") as output:
            slot.process = subprocess.Popen(
                [sys.executable, "-m", "funnelwise", "worker"],
                cwd=self.workdir,
                env=_environment(self.database_url, self.smtp_port),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        slot.kill_at = None

    def tick(self, killing: bool) -> None:
        """Starts what is not running, times a death for what has started, kills what is due."""
        for slot in self.slots:
            if slot.process is None or slot.process.poll() is not None:
                if slot.process is not None and slot.process.returncode != -signal.SIGKILL:
                    pytest.fail(f"a worker exited by itself with {slot.process.returncode}:\n{self.tail()}")
                self.start(slot)
                continue
            if not killing:
                continue
            if slot.kill_at is None:
                if slot.log is not None and READY in slot.log.read_text(errors="replace"):
                    slot.kill_at = time.monotonic() + self.rng.uniform(*KILL_AFTER)
            elif time.monotonic() >= slot.kill_at:
                slot.process.send_signal(signal.SIGKILL)
                slot.process.wait(10)
                self.kills += 1
                self.start(slot)

    def stop(self) -> None:
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is None:
                slot.process.kill()
                slot.process.wait(10)

    def tail(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs[-3:]
        )


def _environment(database_url: str, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNNELWISE_")}
    return env | {
        "FUNNELWISE_DATABASE_URL": database_url,
        "FUNNELWISE_SECRET_KEY": TEST_SECRET,
        "FUNNELWISE_SMTP_HOST": "127.0.0.1",
        "FUNNELWISE_SMTP_PORT": str(smtp_port),
        "FUNNELWISE_SMTP_SECURITY": "none",
        # A killed worker's claimed batch is taken over after 2 s instead of 10 minutes.
        "FUNNELWISE_SEND_LEASE_SECONDS": str(LEASE_SECONDS),
        "FUNNELWISE_SEND_BATCH_SIZE": str(BATCH),
    }


def _contacts(session: Session) -> dict[int, str]:
    """300 contacts, every third on the pro plan; their plans by id."""
    now = datetime.now(UTC)
    rows = [
        {
            "email": f"durable{number}@example.org",
            "properties": {"plan": "pro" if number % 3 == 0 else "basic"},
            "created_at": now,
            "updated_at": now,
        }
        for number in range(CONTACTS)
    ]
    session.execute(insert(Contact), rows)
    session.commit()
    return {c.id: c.properties["plan"] for c in session.scalars(select(Contact).order_by(Contact.id))}


def _finished(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.status != "active")
        )


def _undelivered(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.QUEUED, OutboxStatus.SENDING]))
        )


def _templates(session: Session, ctx: Context) -> None:
    for name in ("welcome", "pro-offer", "basic-offer", "goodbye"):
        make_template(session, ctx, name, locales={"ko": {"subject": name, "text": "{{ contact.email }}"}})


def test_workers_killed_at_random_moments_finish_every_journey_with_each_message_once(
    database_url: str, sessions: sessionmaker[Session], ctx: Context, tmp_path: Path
) -> None:
    real = Context(ctx.settings, SystemClock())
    with sessions() as session:
        plans = _contacts(session)
        _templates(session, real)
        workflow_id = apply_workflow(session, real, JOURNEY, allow_unknown=True).workflow.id
        resume_workflow(session, real, workflow_id)
        session.commit()
    ids = list(plans)
    chunks = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
    seed = random.randrange(2**32)
    workers = 2 if database_url.startswith("postgresql") else 1
    sink = SmtpSink()
    chaos = _Chaos(database_url, sink.port, tmp_path, random.Random(seed), [_Slot(n) for n in range(workers)])

    started = time.monotonic()
    next_enrollment = started
    try:
        sink.__enter__()
        while _finished(sessions) < CONTACTS or chunks or _undelivered(sessions):
            now = time.monotonic()
            if now - started > TIMEOUT:
                pytest.fail(
                    f"{_finished(sessions)} of {CONTACTS} journeys finished after {TIMEOUT} s, "
                    f"{chaos.kills} kills (seed {seed}):\n{chaos.tail()}"
                )
            if chunks and now >= next_enrollment:
                with sessions() as session:
                    key = f"chunk-{len(chunks)}"
                    enroll_contacts(session, real, workflow_id, EnrollIn(contact_ids=chunks.pop(0), key=key))
                    session.commit()
                next_enrollment = now + ENROLL_EVERY
            chaos.tick(killing=now - started < CHAOS_SECONDS)
            time.sleep(0.05)
    finally:
        chaos.stop()
        sink.__exit__()

    print(
        f"{database_url.split(':')[0]}: {chaos.kills} kills in {time.monotonic() - started:.1f} s, seed {seed}"
    )
    assert chaos.kills >= 2, f"only {chaos.kills} kills (seed {seed}): the workers were not disturbed"
    with sessions() as session:
        statuses = Counter(session.scalars(select(Enrollment.status)))
        enrollments = {
            row.id: row.contact_id for row in session.execute(select(Enrollment.id, Enrollment.contact_id))
        }
        paths: dict[int, list[tuple[int, str]]] = {enrollment_id: [] for enrollment_id in enrollments}
        for enrollment_id, seq, step_id in session.execute(
            select(StepRun.enrollment_id, StepRun.seq, StepRun.step_id).order_by(
                StepRun.enrollment_id, StepRun.seq
            )
        ):
            paths[enrollment_id].append((seq, step_id))
        messages = Counter(
            (row.enrollment_id, row.step_id)
            for row in session.execute(select(OutboxMessage.enrollment_id, OutboxMessage.step_id))
        )
    assert statuses == {"completed": CONTACTS}, f"seed {seed}"
    assert sorted(enrollments.values()) == sorted(plans)
    expected_paths = {
        enrollment_id: list(enumerate(expected_path(plans[contact_id])))
        for enrollment_id, contact_id in enrollments.items()
    }
    assert paths == expected_paths, f"seed {seed}"
    expected_messages = Counter(
        (enrollment_id, step_id)
        for enrollment_id, path in expected_paths.items()
        for _, step_id in path
        if step_id in SENDS
    )
    assert messages - expected_messages == Counter(), f"messages sent twice or wrongly (seed {seed})"
    assert expected_messages - messages == Counter(), f"messages lost (seed {seed})"
    _assert_delivered_at_most_once(sessions, sink, chaos.kills, seed)


def _assert_delivered_at_most_once(
    sessions: sessionmaker[Session], sink: SmtpSink, kills: int, seed: int
) -> None:
    with sessions() as session:
        rows = session.execute(select(OutboxMessage.status, OutboxMessage.provider_message_id)).all()
    arrived = {mail["Message-ID"] for mail in sink.messages}
    # Our Message-ID names the outbox row (<fw.<id>.<random>@…>): a row sent twice shows here.
    rows_arrived = Counter(_outbox_id(message_id) for message_id in arrived)
    statuses = Counter(status for status, _ in rows)
    print(f"outbox: {dict(statuses)}; {len(sink.messages)} emails arrived")
    assert [m for m, n in rows_arrived.items() if n > 1] == [], f"emails that arrived twice (seed {seed})"
    sent = {message_id for status, message_id in rows if status == OutboxStatus.SENT}
    assert sent <= arrived, f"messages marked sent that never arrived (seed {seed})"
    assert set(statuses) <= {OutboxStatus.SENT, OutboxStatus.UNKNOWN}, f"seed {seed}"
    # A kill cuts off at most the one batch its worker had in flight: those become unknown.
    assert statuses[OutboxStatus.UNKNOWN] <= kills * BATCH, f"seed {seed}"


def _outbox_id(message_id: str) -> int:
    found = re.fullmatch(r"<fw\.(\d+)\.[0-9a-f]+@.+>", message_id)
    assert found is not None, message_id
    return int(found[1])
