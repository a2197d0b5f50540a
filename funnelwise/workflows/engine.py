"""The engine: due enrollments are claimed, moved through their steps, and written back at once.

A batch of due enrollments is claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has one
writer at a time), so any number of workers share the work and no enrollment runs in two at once.
The batch goes round by round: each round, the enrollments standing at the same step of the same
version are run together, until each one waits, leaves or finishes. Every step's effects (outbox
rows, contact changes, the path rows) and the enrollment's move commit in one transaction: a
worker killed at any instruction leaves the batch as it was, for another worker to take over.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, one_of
from funnelwise.db.staging import copy_rows, staged
from funnelwise.db.writes import write_retrying
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.workflows.definition import SendStep
from funnelwise.workflows.enrollment import ACTIVE, matching_among
from funnelwise.workflows.models import Enrollment, StepRun, Workflow
from funnelwise.workflows.moves import Fail, GoOn, Leave, Move, Wait
from funnelwise.workflows.runtime import StepContext
from funnelwise.workflows.steps import run_step
from funnelwise.workflows.versions import RunnableVersion, Versions

BATCH = 500
# A failing step is tried this many times in all, waiting 30 s, 1 min, 2 min, … between tries.
ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
# Steps one enrollment may take in one batch; validation refuses loops without a wait, so only
# a very long straight run of steps reaches it, and goes on in the next batch.
ROUNDS = 100


@dataclass(frozen=True)
class Ran:
    """What one call of `run_due` did."""

    claimed: int = 0
    steps: int = 0
    finished: int = 0
    failed: int = 0


def run_due(sessions: sessionmaker[Session], ctx: Context, limit: int = BATCH) -> Ran:
    """Runs the enrollments due now, oldest first; returns what it did (nothing when none are due)."""
    return write_retrying(sessions, lambda session: run_batch(session, ctx, limit))


def run_all_due(sessions: sessionmaker[Session], ctx: Context) -> int:
    """Runs until nothing is due at the clock's time (tests, simulation); the steps taken."""
    steps = 0
    while (ran := run_due(sessions, ctx)).claimed:
        steps += ran.steps
    return steps


def run_batch(session: Session, ctx: Context, limit: int) -> Ran:
    now = ctx.clock.now()
    query = (
        select(Enrollment)
        .join(Workflow, Workflow.id == Enrollment.workflow_id)
        .where(Enrollment.status == ACTIVE, Enrollment.due_at <= now, Workflow.status == "active")
        .order_by(Enrollment.due_at, Enrollment.id)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Enrollment)
    claimed = list(session.scalars(query))
    if not claimed:
        return Ran()
    batch = _Batch(session, ctx, now)
    batch.leave_if_done(claimed)
    pending = [e for e in claimed if e.status == ACTIVE]
    for _ in range(ROUNDS):
        if not pending:
            break
        pending = batch.round(pending)
    batch.write()
    return Ran(
        claimed=len(claimed),
        steps=len(batch.runs),
        finished=sum(e.status != ACTIVE for e in claimed),
        failed=sum(e.status == "failed" for e in claimed),
    )


def finish(enrollment: Enrollment, status: str, reason: str, now: datetime) -> None:
    enrollment.status = status
    enrollment.reason = reason
    enrollment.finished_at = now
    enrollment.due_at = None
    enrollment.wait_event = None


@dataclass
class _Batch:
    session: Session
    ctx: Context
    now: datetime
    versions: Versions = field(init=False)
    runs: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    _contacts: dict[int, Contact] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.versions = Versions(self.session)

    def round(self, pending: list[Enrollment]) -> list[Enrollment]:
        """Runs each pending enrollment's current step; those that go straight on come back."""
        groups: dict[tuple[int, str], list[Enrollment]] = defaultdict(list)
        for enrollment in pending:
            groups[(enrollment.version_id, enrollment.step_id)].append(enrollment)
        again: list[Enrollment] = []
        for (version_id, step_id), group in groups.items():
            version = self.versions.get(version_id)
            step = version.steps.get(step_id)
            if step is None:
                for enrollment in group:
                    self._fail(
                        enrollment,
                        step_id,
                        "missing",
                        Fail(f"step '{step_id}' is not in version {version.version}", final=True),
                    )
                continue
            moves = run_step(self, version, step, group)
            for enrollment in group:
                if self._apply(enrollment, version, step.type, moves[enrollment.id]):
                    again.append(enrollment)
        return again

    def leave_if_done(self, enrollments: list[Enrollment]) -> None:
        """Enrollments whose contact meets the goal leave as converted; exit conditions, as exited."""
        for (status, reason), ids in leavers(
            self.session, self.ctx, self.versions, enrollments, self.now
        ).items():
            for enrollment in enrollments:
                if enrollment.id in ids:
                    self._record(enrollment, enrollment.step_id, "", reason)
                    finish(enrollment, status, reason, self.now)

    def _apply(self, enrollment: Enrollment, version: RunnableVersion, step_type: str, move: Move) -> bool:
        step_id = enrollment.step_id
        match move:
            case GoOn(next=next_step, outcome=outcome):
                self._record(enrollment, step_id, step_type, outcome)
                # Set only when they change: every attribute set costs the flush a column.
                if enrollment.attempts:
                    enrollment.attempts = 0
                    enrollment.last_error = None
                if enrollment.wait_event is not None:
                    enrollment.wait_event = None
                if next_step is None:
                    finish(enrollment, "completed", "reached the end", self.now)
                    return False
                enrollment.step_id = next_step
                enrollment.step_entered_at = self.now
                enrollment.due_at = self.now
                return True
            case Wait(until=until, event=event):
                enrollment.due_at = until
                enrollment.wait_event = event
                return False
            case Leave(status=status, reason=reason):
                self._record(enrollment, step_id, step_type, reason)
                finish(enrollment, status, reason, self.now)
                return False
            case Fail():
                self._fail(enrollment, step_id, step_type, move)
                return False
        raise AssertionError(f"unknown move {move!r}")

    def _fail(self, enrollment: Enrollment, step_id: str, step_type: str, move: Fail) -> None:
        enrollment.attempts += 1
        enrollment.last_error = move.error
        if move.final or enrollment.attempts >= ATTEMPTS:
            self._record(enrollment, step_id, step_type, f"failed: {move.error}")
            finish(enrollment, "failed", f"step '{step_id}' failed: {move.error}", self.now)
            return
        enrollment.due_at = self.now + FIRST_RETRY * 2 ** (enrollment.attempts - 1)

    def _record(self, enrollment: Enrollment, step_id: str, step_type: str, outcome: str) -> None:
        self.runs.append(
            {
                "enrollment_id": enrollment.id,
                "workflow_id": enrollment.workflow_id,
                "version": enrollment.version,
                "seq": enrollment.seq,
                "step_id": step_id,
                "step_type": step_type or "leave",
                "outcome": outcome[:255],
                "entered_at": enrollment.step_entered_at,
                "left_at": self.now,
            }
        )
        enrollment.seq += 1

    def contacts(self, ids: list[int]) -> dict[int, Contact]:
        missing = [contact_id for contact_id in ids if contact_id not in self._contacts]
        if missing:
            for contact in self.session.scalars(
                select(Contact).where(one_of(self.session, Contact.id, missing))
            ):
                self._contacts[contact.id] = contact
        return {contact_id: self._contacts[contact_id] for contact_id in ids if contact_id in self._contacts}

    def send(self, enrollment: Enrollment, version: RunnableVersion, step: SendStep) -> None:
        self.messages.append(
            {
                "idempotency_key": self.step_context(enrollment, version).idempotency_key,
                "contact_id": enrollment.contact_id,
                "channel": str(step.channel),
                "template": step.template,
                "status": OutboxStatus.QUEUED,
                "source": "workflow",
                "workflow_id": enrollment.workflow_id,
                "enrollment_id": enrollment.id,
                "step_id": step.id,
                "variables": {"trigger": enrollment.context}
                | ({"send_time": "best"} if step.send_time == "best" else {}),
                "due_at": self.now,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )

    def step_context(self, enrollment: Enrollment, version: RunnableVersion) -> StepContext:
        return StepContext(
            enrollment_id=enrollment.id,
            workflow_id=enrollment.workflow_id,
            workflow_name=version.workflow_name,
            version=enrollment.version,
            contact_id=enrollment.contact_id,
            step_id=enrollment.step_id,
            seq=enrollment.seq,
            now=self.now,
            trigger=enrollment.context,
        )

    def latest_version(self, workflow_name: str) -> RunnableVersion | None:
        return next((v for v in self.versions.latest_active() if v.workflow_name == workflow_name), None)

    def write(self) -> None:
        """The batch's outbox rows and path rows; the enrollments' moves flush with the session."""
        if self.messages:
            self._insert_messages()
        if self.runs:
            if dialect_name(self.session) == "postgresql":
                # A step's (enrollment, seq) is written once: the claim's row lock guarantees it.
                copy_rows(self.session, StepRun.__table__, self.runs)
            else:
                self.session.execute(insert(self.session, StepRun.__table__), self.runs)
        self.session.flush()

    def _insert_messages(self) -> None:
        """The outbox rows; a key already there (a repeated step, in theory) is skipped, not doubled."""
        outbox = OutboxMessage.__table__
        statement = insert(self.session, outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
        if dialect_name(self.session) != "postgresql":
            self.session.execute(statement, self.messages)
            return
        with staged(self.session, outbox, self.messages) as stage:
            self.session.execute(statement.from_select(list(stage.c.keys()), select(*stage.c)))


def leavers(
    session: Session, ctx: Context, versions: Versions, enrollments: list[Enrollment], now: datetime
) -> dict[tuple[str, str], set[int]]:
    """The enrollments that are to leave now, by (status, reason): goal met first, then exits."""
    by_version: dict[int, list[Enrollment]] = defaultdict(list)
    for enrollment in enrollments:
        by_version[enrollment.version_id].append(enrollment)
    found: dict[tuple[str, str], set[int]] = defaultdict(set)
    for version_id, group in by_version.items():
        version = versions.get(version_id)
        left = {e.contact_id: e.id for e in group}
        checks = [("converted", "met the goal", version.goal)] if version.goal is not None else []
        checks += [("exited", f"met exit condition {i + 1}", c) for i, c in enumerate(version.exits)]
        for status, reason, condition in checks:
            for contact_id in matching_among(session, ctx, condition, list(left), now):
                found[(status, reason)].add(left.pop(contact_id))
    return found
