"""What each kind of step does, for a group of enrollments at the same step of the same version.

A runner decides a `Move` for every enrollment of its group. Conditions are decided for the whole
group in one query; sends become outbox rows written with the batch; effects on contacts, lists,
sales and webhooks run one enrollment at a time, each in a savepoint, so one failure undoes only
its own writes. Decisions depend only on the database and the time the step was entered, so a
step run again after a crash decides the same.
"""

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.conditions import EventFact, Facts, evaluate
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import one_of
from funnelwise.tracking.models import Event
from funnelwise.workflows import effects
from funnelwise.workflows.definition import (
    AbSplitStep,
    EnrollStep,
    IfElseStep,
    SendStep,
    SplitStep,
    WaitForEventStep,
    WaitStep,
    WaitUntilStep,
)
from funnelwise.workflows.durations import parse_duration
from funnelwise.workflows.enrollment import Candidate, enroll, matching_among
from funnelwise.workflows.local_time import contact_zone, local_date
from funnelwise.workflows.models import Enrollment
from funnelwise.workflows.moves import Fail, GoOn, Leave, Move, Wait
from funnelwise.workflows.runtime import StepContext, StepFailed, StepRefused
from funnelwise.workflows.versions import RunnableVersion
from funnelwise.workflows.waiting import wait_until_moment

logger = logging.getLogger(__name__)

# An event is looked for this long before the wait began by its own time, as a client's clock
# may run behind; what counts is that it reached us after the wait began.
_CLOCK_SKEW = timedelta(hours=1)


class Batch(Protocol):
    """What runners need from the batch of work they are part of."""

    session: Session
    ctx: Context
    now: datetime

    def contacts(self, ids: list[int]) -> dict[int, Contact]: ...

    def send(self, enrollment: Enrollment, version: RunnableVersion, step: SendStep) -> None: ...

    def step_context(self, enrollment: Enrollment, version: RunnableVersion) -> StepContext: ...

    def latest_version(self, workflow_name: str) -> RunnableVersion | None: ...


Runner = Callable[[Batch, RunnableVersion, Any, list[Enrollment]], dict[int, Move]]


def run_step(batch: Batch, version: RunnableVersion, step: Any, group: list[Enrollment]) -> dict[int, Move]:
    runner = _RUNNERS.get(step.type)
    if runner is not None:
        return runner(batch, version, step, group)
    if step.type in effects.EFFECT_TYPES:
        return {e.id: _effect(batch, version, step, e) for e in group}
    if step.type == "exit":
        return {e.id: Leave("exited", f"reached the exit step '{step.id}'") for e in group}
    raise AssertionError(f"no runner for step type {step.type!r}")


def _send(batch: Batch, version: RunnableVersion, step: SendStep, group: list[Enrollment]) -> dict[int, Move]:
    for enrollment in group:
        batch.send(enrollment, version, step)
    outcome = f"queued {step.channel} message '{step.template}'"
    return {e.id: GoOn(step.next, outcome) for e in group}


def _wait(batch: Batch, version: RunnableVersion, step: WaitStep, group: list[Enrollment]) -> dict[int, Move]:
    length = parse_duration(step.duration)
    moves: dict[int, Move] = {}
    for enrollment in group:
        until = enrollment.step_entered_at + length
        moves[enrollment.id] = (
            GoOn(step.next, f"waited {step.duration}") if batch.now >= until else Wait(until)
        )
    return moves


def _wait_until(
    batch: Batch, version: RunnableVersion, step: WaitUntilStep, group: list[Enrollment]
) -> dict[int, Move]:
    contacts = batch.contacts([e.contact_id for e in group])
    moves: dict[int, Move] = {}
    for enrollment in group:
        contact = contacts.get(enrollment.contact_id)
        tz = contact_zone(contact.timezone if contact else None, batch.ctx.settings.tz)
        on_date = _date_of(contact, step.date_property, tz) if step.date_property else None
        if step.date_property and on_date is None:
            moves[enrollment.id] = GoOn(step.next, f"went on at once: no {step.date_property} to wait for")
            continue
        until = wait_until_moment(step, enrollment.step_entered_at, tz, on_date)
        moves[enrollment.id] = (
            GoOn(step.next, "waited until the time came") if batch.now >= until else Wait(until)
        )
    return moves


def _wait_for_event(
    batch: Batch, version: RunnableVersion, step: WaitForEventStep, group: list[Enrollment]
) -> dict[int, Move]:
    arrived = _arrivals(batch, version, step, group)
    timeout = parse_duration(step.timeout)
    moves: dict[int, Move] = {}
    for enrollment in group:
        deadline = enrollment.step_entered_at + timeout
        if enrollment.id in arrived:
            moves[enrollment.id] = GoOn(step.on_event, f"'{step.event}' came")
        elif batch.now >= deadline:
            moves[enrollment.id] = GoOn(step.on_timeout, f"no '{step.event}' within {step.timeout}")
        else:
            moves[enrollment.id] = Wait(deadline, event=step.event)
    return moves


def _arrivals(
    batch: Batch, version: RunnableVersion, step: WaitForEventStep, group: list[Enrollment]
) -> set[int]:
    """The enrollments whose contact's awaited event reached the log after the wait began."""
    since = min(e.step_entered_at for e in group)
    rows = batch.session.execute(
        select(Event.contact_id, Event.properties, Event.occurred_at, Event.received_at).where(
            one_of(batch.session, Event.contact_id, sorted({e.contact_id for e in group})),
            Event.occurred_at >= since - _CLOCK_SKEW,
            Event.name == step.event,
            Event.received_at >= since,
        )
    ).all()
    condition = version.condition(step.condition()) if step.where else None
    by_contact: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_contact[row.contact_id].append(row)
    return {
        enrollment.id
        for enrollment in group
        if any(
            row.received_at >= enrollment.step_entered_at
            and (condition is None or _event_passes(batch, condition, step.event, row))
            for row in by_contact[enrollment.contact_id]
        )
    }


def _event_passes(batch: Batch, condition: Any, name: str, row: Any) -> bool:
    facts = Facts(contact={}, events=[EventFact(name, row.properties or {}, row.occurred_at)])
    return evaluate(condition, facts, batch.now, batch.ctx.settings.tz)


def _if_else(
    batch: Batch, version: RunnableVersion, step: IfElseStep, group: list[Enrollment]
) -> dict[int, Move]:
    holds = matching_among(
        batch.session, batch.ctx, version.condition(step.condition), [e.contact_id for e in group], batch.now
    )
    return {
        e.id: GoOn(step.then, "condition held")
        if e.contact_id in holds
        else GoOn(step.else_, "condition did not hold")
        for e in group
    }


def _split(
    batch: Batch, version: RunnableVersion, step: SplitStep, group: list[Enrollment]
) -> dict[int, Move]:
    moves: dict[int, Move] = {}
    left = list(group)
    for branch in step.branches:
        holds = matching_among(
            batch.session,
            batch.ctx,
            version.condition(branch.condition),
            [e.contact_id for e in left],
            batch.now,
        )
        for enrollment in left:
            if enrollment.contact_id in holds:
                moves[enrollment.id] = GoOn(branch.next, f"branch '{branch.name}'")
        left = [e for e in left if e.id not in moves]
    for enrollment in left:
        moves[enrollment.id] = GoOn(step.else_, "no branch held: else")
    return moves


def _ab_split(
    batch: Batch, version: RunnableVersion, step: AbSplitStep, group: list[Enrollment]
) -> dict[int, Move]:
    """A variant by weight, from a hash of the enrollment and step: the same every time it is asked."""
    total = sum(variant.weight for variant in step.variants)
    moves: dict[int, Move] = {}
    for enrollment in group:
        draw, pick = _draws(enrollment.id, step.id)
        if draw * 100 < step.holdout:
            moves[enrollment.id] = Leave("exited", f"held out as a control group at '{step.id}'")
            continue
        point = pick * total
        for variant in step.variants:
            point -= variant.weight
            if point < 0:
                moves[enrollment.id] = GoOn(variant.next, f"variant '{variant.name}'")
                break
        else:
            last = step.variants[-1]
            moves[enrollment.id] = GoOn(last.next, f"variant '{last.name}'")
    return moves


def _draws(enrollment_id: int, step_id: str) -> tuple[float, float]:
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:8]) / 2**64, int.from_bytes(digest[8:16]) / 2**64


def _enroll(
    batch: Batch, version: RunnableVersion, step: EnrollStep, group: list[Enrollment]
) -> dict[int, Move]:
    target = batch.latest_version(step.workflow)
    if target is None:
        return {e.id: GoOn(step.next, f"not enrolled in '{step.workflow}': it is not active") for e in group}
    candidates = [
        Candidate(
            e.contact_id,
            f"workflow:{batch.step_context(e, version).idempotency_key}",
            {"from_workflow": version.workflow_name},
        )
        for e in group
    ]
    result = enroll(batch.session, batch.ctx, target, candidates)
    return {
        e.id: GoOn(
            step.next,
            f"enrolled in '{step.workflow}'"
            if e.contact_id in result.enrolled
            else f"not enrolled in '{step.workflow}': {result.skipped.get(e.contact_id, 'refused')}",
        )
        for e in group
    }


def _effect(batch: Batch, version: RunnableVersion, step: Any, enrollment: Enrollment) -> Move:
    run = batch.step_context(enrollment, version)
    try:
        with batch.session.begin_nested():
            return GoOn(step.next, effects.run_effect(batch.session, batch.ctx, step, run))
    except StepRefused as exc:
        return Fail(str(exc), final=True)
    except StepFailed as exc:
        return Fail(str(exc))
    except Exception as exc:  # A fault in one step must not stop the others of the batch.
        logger.exception("step %s of workflow %s failed", step.id, version.workflow_name)
        return Fail(f"{type(exc).__name__}: {exc}")


def _date_of(contact: Contact | None, name: str, tz: Any) -> date | None:
    if contact is None:
        return None
    value = (
        getattr(contact, name, None) if name in ("created_at", "updated_at") else contact.properties.get(name)
    )
    return local_date(value, tz)


_RUNNERS: dict[str, Runner] = {
    "send": _send,
    "wait": _wait,
    "wait_until": _wait_until,
    "wait_for_event": _wait_for_event,
    "if_else": _if_else,
    "split": _split,
    "ab_split": _ab_split,
    "enroll": _enroll,
}
