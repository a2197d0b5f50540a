"""Workflow engine throughput against hand-written SQL for the same writes, and event→first action latency.

    python bench/bench_workflows.py                          # 100,000 contacts, 3 repeats, both databases
    python bench/bench_workflows.py --rows 2000 --repeat 1   # what CI runs
    python bench/bench_workflows.py --rows 20000 --repeat 1 --database postgresql --profile

For each database and repeat, a fresh database (a temporary SQLite file, a new PostgreSQL
database) with --rows contacts loaded by executemany or COPY, a third of them on the pro plan. Then:

1. A 6-step journey (send → wait 1d → if_else on the plan → send → wait 1d → send) is applied and
   activated, every contact is enrolled through `enrollment.enroll` (set-based), and the engine
   (`run_due`, batches of 500) runs everything due on a simulated clock, which is moved past each
   wait: 6 step runs and 3 outbox rows per contact. Steps/s are the step runs over the engine's
   seconds, with one worker, and on PostgreSQL with two worker processes, each with its own
   engine and its own simulated clock at the same instant (they meet at a barrier between the
   waits, as every enrollment must have moved before the clock does).
2. The baseline, in the same run: the same claims (`FOR UPDATE SKIP LOCKED` on PostgreSQL, 500 at
   a time), outbox inserts, step-run inserts and enrollment updates, written by hand with
   SQLAlchemy Core, one transaction per batch.
3. Real time: a `funnelwise worker` process on the real clock and an active workflow whose trigger
   is an event and whose first step is a send; events are logged one at a time at a steady pace
   (`record_event`, committed) and the time from the commit to the outbox row being visible is
   measured by polling. On PostgreSQL the event's NOTIFY wakes the worker; on SQLite the bench
   writes a byte on the worker's wake pipe after each commit, as `funnelwise serve` does for the
   worker it starts (a lone SQLite worker would only poll, once a second).

Medians over --repeat close each database's figures; the goals are printed beside them.
"""

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchdb import bulk_load, drop_database, fresh_database, timed
from sqlalchemy import Engine, bindparam, func, insert, select, text, update

from funnelwise.clock import SimulatedClock, SystemClock
from funnelwise.config import Settings
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.db.migrate import upgrade
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.tracking.log import record_event
from funnelwise.workflows.engine import BATCH, run_due
from funnelwise.workflows.enrollment import Candidate, enroll
from funnelwise.workflows.models import Enrollment, StepRun, Workflow, WorkflowVersion
from funnelwise.workflows.service import apply_workflow, resume_workflow
from funnelwise.workflows.versions import runnable

SECRET = "bench-secret-key-for-workflows-only"
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
# Past a wait of a day: the clock moves by this between the engine's passes.
PHASE = timedelta(days=1, seconds=1)
STEPS_PER_CONTACT = 6
SENDS_PER_CONTACT = 3
GOAL_STEPS = 3_000
GOAL_P95_MS = 1_000
PACE_SECONDS = 0.2
ENROLL_CHUNK = 10_000
PING = "Bench Ping"
STEP_TYPES = {"hello": "send", "first-wait": "wait", "plan": "if_else", "pro-offer": "send",
              "basic-offer": "send", "second-wait": "wait", "last": "send"}  # fmt: skip

JOURNEY = {
    "name": "bench-journey",
    "trigger": {"type": "manual"},
    "steps": [
        {"id": "hello", "type": "send", "channel": "email", "template": "welcome", "next": "first-wait"},
        {"id": "first-wait", "type": "wait", "duration": "1d", "next": "plan"},
        {
            "id": "plan",
            "type": "if_else",
            "condition": {"property": "plan", "operator": "equals", "value": "pro"},
            "then": "pro-offer",
            "else": "basic-offer",
        },
        {"id": "pro-offer", "type": "send", "channel": "email", "template": "pro", "next": "second-wait"},
        {"id": "basic-offer", "type": "send", "channel": "email", "template": "basic", "next": "second-wait"},
        {"id": "second-wait", "type": "wait", "duration": "1d", "next": "last"},
        {"id": "last", "type": "send", "channel": "email", "template": "last-call"},
    ],
}
REAL_TIME = {
    "name": "bench-ping",
    "trigger": {"type": "event", "event": PING},
    "steps": [{"id": "pong", "type": "send", "channel": "email", "template": "pong"}],
}


@dataclass(frozen=True)
class Run:
    enroll_rate: float
    one_worker: float
    two_workers: float | None
    by_hand: float
    p50_ms: float
    p95_ms: float


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, secret_key=SECRET, _env_file=None)


def load(engine: Engine, rows: int) -> None:
    contacts = (
        (i, f"person{i}@example.org", json.dumps({"plan": "pro" if i % 3 == 0 else "basic"}), NOW, NOW)
        for i in range(1, rows + 1)
    )
    bulk_load(engine, [("contacts", "id, email, properties, created_at, updated_at", contacts)])


def activate(engine: Engine, ctx: Context, definition: dict[str, Any]) -> int:
    with make_sessionmaker(engine).begin() as session:
        workflow_id = apply_workflow(session, ctx, definition, allow_unknown=True).workflow.id
        resume_workflow(session, ctx, workflow_id)
    return workflow_id


def enroll_everyone(engine: Engine, ctx: Context, workflow_id: int, rows: int) -> float:
    """Enrolls every contact, set-based (chunks keep SQLite under its limit of bound values); seconds."""
    with make_sessionmaker(engine).begin() as session:
        workflow = session.get(Workflow, workflow_id)
        latest = session.scalars(
            select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)
        ).one()
        version = runnable(workflow, latest)
        start = time.perf_counter()
        for first in range(1, rows + 1, ENROLL_CHUNK):
            last = min(first + ENROLL_CHUNK, rows + 1)
            candidates = [Candidate(i, "manual:bench", {"manual": True}) for i in range(first, last)]
            enroll(session, ctx, version, candidates)
    return time.perf_counter() - start


def reset(engine: Engine) -> None:
    tables = ("workflow_step_runs", "outbox_messages", "workflow_enrollments")
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


def drive(url: str, barrier: Any = None) -> float:
    """Runs everything due, moves the clock past the wait, three times; the seconds spent running."""
    engine = make_engine(settings_for(url))
    sessions = make_sessionmaker(engine)
    clock = SimulatedClock(NOW)
    ctx = Context(settings_for(url), clock)
    seconds = 0.0
    try:
        for _ in range(3):
            if barrier is not None:
                barrier.wait()
            start = time.perf_counter()
            while run_due(sessions, ctx).claimed:
                pass
            seconds += time.perf_counter() - start
            if barrier is not None:
                barrier.wait()
            clock.advance(PHASE)
    finally:
        engine.dispose()
    return seconds


def drive_together(url: str, workers: int) -> float:
    """Wall-clock seconds of `workers` processes running the journey together, phase by phase."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(workers + 1)
    processes = [spawn.Process(target=drive, args=(url, barrier)) for _ in range(workers)]
    for process in processes:
        process.start()
    seconds = 0.0
    for _ in range(3):
        barrier.wait()
        start = time.perf_counter()
        barrier.wait()
        seconds += time.perf_counter() - start
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a worker process exited with {process.exitcode}")
    return seconds


def check(engine: Engine, rows: int, what: str) -> int:
    """The step runs written; stops the bench unless every contact took its 6 steps and got 3 messages."""
    with engine.connect() as connection:
        steps = connection.scalar(select(func.count()).select_from(StepRun))
        messages = connection.scalar(select(func.count()).select_from(OutboxMessage))
        completed = connection.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.status == "completed")
        )
    if (steps, messages, completed) != (rows * STEPS_PER_CONTACT, rows * SENDS_PER_CONTACT, rows):
        raise SystemExit(
            f"{what}: {steps:,} step runs, {messages:,} messages, {completed:,} completed "
            f"for {rows:,} contacts; expected {rows * STEPS_PER_CONTACT:,}, {rows * SENDS_PER_CONTACT:,}, {rows:,}"
        )
    return steps


def by_hand(engine: Engine) -> float:
    """The engine's writes for the same journey as plain batched SQL; the seconds it took."""
    enrollments = Enrollment.__table__
    plan = Contact.properties["plan"].as_string()
    claim = (
        select(enrollments, plan.label("plan"))
        .join(Contact.__table__, Contact.id == enrollments.c.contact_id)
        .where(enrollments.c.status == "active", enrollments.c.due_at <= bindparam("now"))
        .order_by(enrollments.c.due_at, enrollments.c.id)
        .limit(BATCH)
    )
    if engine.dialect.name == "postgresql":
        claim = claim.with_for_update(skip_locked=True, of=enrollments)
    move = (
        update(enrollments)
        .where(enrollments.c.id == bindparam("b_id"))
        .values(
            step_id=bindparam("b_step"),
            seq=bindparam("b_seq"),
            status=bindparam("b_status"),
            step_entered_at=bindparam("b_entered"),
            due_at=bindparam("b_due"),
            finished_at=bindparam("b_finished"),
        )
    )
    start = time.perf_counter()
    now = NOW
    for phase in range(3):
        while True:
            with engine.begin() as connection:
                claimed = connection.execute(claim, {"now": now}).all()
                if not claimed:
                    break
                runs, messages, moves = [], [], []
                for row in claimed:
                    _by_hand_phase(phase, row, now, runs, messages, moves)
                connection.execute(insert(OutboxMessage.__table__), messages)
                connection.execute(insert(StepRun.__table__), runs)
                connection.execute(move, moves)
        now += PHASE
    return time.perf_counter() - start


def _by_hand_phase(
    phase: int, row: Any, now: datetime, runs: list[dict], messages: list[dict], moves: list[dict]
) -> None:
    """What the engine writes for one enrollment in each pass: its step runs, messages and move."""
    offer = "pro-offer" if row.plan == "pro" else "basic-offer"
    taken, sent, step, due, status = {
        0: (["hello"], ["hello"], "first-wait", now + timedelta(days=1), "active"),
        1: (["first-wait", "plan", offer], [offer], "second-wait", now + timedelta(days=1), "active"),
        2: (["second-wait", "last"], ["last"], "last", None, "completed"),
    }[phase]
    for number, step_id in enumerate(taken):
        seq = row.seq + number
        runs.append(
            {"enrollment_id": row.id, "workflow_id": row.workflow_id, "version": row.version, "seq": seq,
             "step_id": step_id, "step_type": STEP_TYPES[step_id], "outcome": "done", "entered_at": row.step_entered_at,
             "left_at": now}
        )  # fmt: skip
        if step_id in sent:
            messages.append(
                {"idempotency_key": f"wf-{row.id}-{seq}", "contact_id": row.contact_id, "channel": "email",
                 "template": step_id, "status": OutboxStatus.QUEUED, "source": "workflow",
                 "workflow_id": row.workflow_id, "enrollment_id": row.id, "step_id": step_id,
                 "variables": {"trigger": row.context}, "due_at": now, "created_at": now, "updated_at": now}
            )  # fmt: skip
    moves.append(
        {"b_id": row.id, "b_step": step, "b_seq": row.seq + len(taken), "b_status": status, "b_entered": now,
         "b_due": due, "b_finished": now if due is None else None}
    )  # fmt: skip


def real_time(url: str, events: int, rows: int, workdir: Path) -> list[float]:
    """Seconds from each event's commit to its workflow's outbox row, with a worker on the real clock."""
    engine = make_engine(settings_for(url))
    sessions = make_sessionmaker(engine)
    ctx = Context(settings_for(url), SystemClock())
    workflow_id = activate(engine, ctx, REAL_TIME)
    sqlite = engine.dialect.name == "sqlite"
    read_fd, write_fd = os.pipe() if sqlite else (None, None)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNNELWISE_")}
    env |= {"FUNNELWISE_DATABASE_URL": url, "FUNNELWISE_SECRET_KEY": SECRET}
    log = workdir / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "funnelwise", "worker", *(["--wake-fd", str(read_fd)] if sqlite else [])],
            pass_fds=(read_fd,) if sqlite else (),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    if read_fd is not None:
        os.close(read_fd)
    contacts = random.Random(5).sample(range(1, rows + 1), events + 3)
    latencies = []
    try:
        for number, contact_id in enumerate(contacts):
            slot = time.perf_counter()
            with sessions.begin() as session:
                record_event(session, ctx, contact_id, PING, {"n": number})
            committed = time.perf_counter()
            if write_fd is not None:
                os.write(write_fd, b"\0")
            # The first three are untimed: the worker starts, and runs its periodic pass.
            latency = (
                _until_sent(sessions, workflow_id, contact_id, 120 if number < 3 else 30, log) - committed
            )
            if number >= 3:
                latencies.append(latency)
            time.sleep(max(0.0, slot + PACE_SECONDS - time.perf_counter()))
    finally:
        if write_fd is not None:
            os.close(write_fd)
        worker.kill()
        worker.wait(10)
        engine.dispose()
    return latencies


def _until_sent(sessions: Any, workflow_id: int, contact_id: int, patience: float, log: Path) -> float:
    query = select(OutboxMessage.id).where(
        OutboxMessage.workflow_id == workflow_id, OutboxMessage.contact_id == contact_id
    )
    deadline = time.perf_counter() + patience
    with sessions() as session:
        while True:
            found = session.scalar(query)
            seen = time.perf_counter()
            session.rollback()  # The next look sees what committed since.
            if found is not None:
                return seen
            if seen > deadline:
                raise SystemExit(
                    f"no message for contact {contact_id} after {patience} s:\n{log.read_text()}"
                )
            time.sleep(0.002)


def measure(kind: str, rows: int, events: int, workdir: Path, profile: bool) -> Run:
    url = fresh_database(kind, workdir)
    engine = make_engine(settings_for(url))
    ctx = Context(settings_for(url), SimulatedClock(NOW))
    try:
        upgrade(engine)
        seconds, _ = timed(lambda: load(engine, rows))
        workflow_id = activate(engine, ctx, JOURNEY)
        enroll_seconds = enroll_everyone(engine, ctx, workflow_id, rows)
        print(
            f"{kind:<10} loaded {rows:,} contacts in {seconds:.1f} s; enrolled them in {enroll_seconds:.1f} s "
            f"({rows / enroll_seconds:,.0f}/s)",
            flush=True,
        )
        if profile:
            profiler = cProfile.Profile()
            one = profiler.runcall(drive, url)
            _print_profile(profiler)
        else:
            one = drive(url)
        steps = check(engine, rows, "one worker")
        two = None
        if kind == "postgresql":
            reset(engine)
            enroll_everyone(engine, ctx, workflow_id, rows)
            two = steps / drive_together(url, 2)
            check(engine, rows, "two workers")
        reset(engine)
        enroll_everyone(engine, ctx, workflow_id, rows)
        hand = steps / by_hand(engine)
        check(engine, rows, "by hand")
        latencies = real_time(url, events, rows, workdir)
        return Run(
            enroll_rate=rows / enroll_seconds,
            one_worker=steps / one,
            two_workers=two,
            by_hand=hand,
            p50_ms=statistics.median(latencies) * 1000,
            p95_ms=statistics.quantiles(latencies, n=20)[-1] * 1000,
        )
    finally:
        engine.dispose()
        drop_database(url)


def _print_profile(profiler: cProfile.Profile) -> None:
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(30)
        print(out.getvalue(), flush=True)


def report(kind: str, label: str, run: Run) -> None:
    two = (
        f"2 workers {run.two_workers:,.0f} steps/s (scaling {run.two_workers / run.one_worker:.2f}), "
        if run.two_workers is not None
        else ""
    )
    print(
        f"{kind:<10} {label}: engine 1 worker {run.one_worker:,.0f} steps/s (goal {GOAL_STEPS:,}), {two}"
        f"hand-written SQL {run.by_hand:,.0f} steps/s (engine/hand {run.one_worker / run.by_hand:.2f}); "
        f"enrollment {run.enroll_rate:,.0f}/s; event→first action p50 {run.p50_ms:.0f} ms, "
        f"p95 {run.p95_ms:.0f} ms (goal under {GOAL_P95_MS:,} ms)",
        flush=True,
    )


def _median(runs: list[Run]) -> Run:
    def of(name: str) -> Any:
        values = [getattr(run, name) for run in runs]
        return None if values[0] is None else statistics.median(values)

    return Run(**{name: of(name) for name in Run.__dataclass_fields__})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="contacts, each enrolled once")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--events", type=int, default=None, help="real-time events [default: rows / 100, 20 to 200]"
    )
    parser.add_argument("--profile", action="store_true", help="profile the one-worker engine run")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    events = args.events or min(200, max(20, args.rows // 100))
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        for kind in kinds:
            runs = []
            for number in range(1, args.repeat + 1):
                runs.append(measure(kind, args.rows, events, Path(tmp), args.profile))
                report(kind, f"run {number}", runs[-1])
            report(kind, f"median of {args.repeat}", _median(runs))


if __name__ == "__main__":
    main()
