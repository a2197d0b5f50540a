"""Reacting to what just happened to contacts: triggers enroll, awaited events wake, goals end.

Called by the reactions worker for the contacts it decides, after their scores, stages and
segments: the `Score Changed`, `Lifecycle Stage Changed` and `Segment Entered` events those wrote
are in the log by then. Every trigger that is not time-driven is an event in the log: a tracked
event, or one the application logged (a segment entered, a list added, a stage or score change, a
property changed). Each event enrolls a contact at most once per workflow (`event:<id>`), so seeing
an event again is harmless.

An event that happened more than `LOOKBACK` before its contact was queued (an import of history,
a phone that was offline for days) enrolls nobody: journeys react to the present.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from funnelwise.conditions import EventFact, Facts, evaluate
from funnelwise.context import Context
from funnelwise.db.dialect import insert, one_of
from funnelwise.sales.log import STAGE_CHANGED
from funnelwise.scoring.log import SCORE_CHANGED
from funnelwise.segments.log import LIST_ADDED, SEGMENT_ENTERED, SEGMENT_EXITED
from funnelwise.tracking.models import Event
from funnelwise.workflows.definition import (
    EventTrigger,
    ListTrigger,
    PropertyChangedTrigger,
    ScoreTrigger,
    SegmentTrigger,
    StageChangedTrigger,
)
from funnelwise.workflows.engine import leavers
from funnelwise.workflows.enrollment import ACTIVE, Candidate, enroll
from funnelwise.workflows.models import Enrollment, StepRun
from funnelwise.workflows.versions import RunnableVersion, Versions

LOOKBACK = timedelta(hours=1)
PROPERTY_CHANGED = "Property Changed"


def react_to_contacts(session: Session, ctx: Context, contact_ids: Sequence[int], since: datetime) -> int:
    """Enrolls, wakes and ends for what happened to these contacts since `since`; the enrollments made."""
    if not contact_ids:
        return 0
    versions = Versions(session)
    active = versions.latest_active()
    live = list(
        session.scalars(
            select(Enrollment).where(
                Enrollment.status == ACTIVE, one_of(session, Enrollment.contact_id, list(contact_ids))
            )
        )
    )
    names = {name for version in active if (name := trigger_event(version)) is not None}
    names |= {e.wait_event for e in live if e.wait_event is not None}
    if not names and not live:
        return 0
    events = _recent_events(session, contact_ids, names, since - LOOKBACK) if names else []
    _wake(session, ctx, live, events)
    _end_reached(session, ctx, versions, live)
    return _enroll_from(session, ctx, active, events)


def segment_changes_since(session: Session, ctx: Context, since: datetime, exclude: set[int]) -> list[int]:
    """Contacts that entered or left a segment since `since`, when a workflow is triggered by that."""
    names = {trigger_event(version) for version in Versions(session).latest_active()}
    wanted = sorted(names & {SEGMENT_ENTERED, SEGMENT_EXITED})
    if not wanted:
        return []
    found = session.scalars(
        select(Event.contact_id).where(Event.name.in_(wanted), Event.occurred_at >= since).distinct()
    )
    return sorted(contact_id for contact_id in found if contact_id is not None and contact_id not in exclude)


def trigger_event(version: RunnableVersion) -> str | None:
    """The name of the event that enrolls contacts in this version, if an event does."""
    match version.definition.trigger:
        case EventTrigger(event=name):
            return name
        case SegmentTrigger(type="segment_entered"):
            return SEGMENT_ENTERED
        case SegmentTrigger():
            return SEGMENT_EXITED
        case ListTrigger():
            return LIST_ADDED
        case StageChangedTrigger():
            return STAGE_CHANGED
        case ScoreTrigger():
            return SCORE_CHANGED
        case PropertyChangedTrigger():
            return PROPERTY_CHANGED
    return None


def fires(
    version: RunnableVersion, name: str, properties: dict[str, Any], occurred_at: datetime, ctx: Context
) -> bool:
    """Whether this logged event is the version's trigger."""
    trigger = version.definition.trigger
    if trigger_event(version) != name:
        return False
    if version.activated_at is not None and occurred_at < version.activated_at:
        return False
    match trigger:
        case EventTrigger():
            if not trigger.where:
                return True
            facts = Facts(contact={}, events=[EventFact(name, properties, occurred_at)])
            return evaluate(version.condition(trigger.condition()), facts, occurred_at, ctx.settings.tz)
        case SegmentTrigger():
            return properties.get("segment_name") == trigger.segment
        case ListTrigger():
            return properties.get("list_name") == trigger.list
        case StageChangedTrigger():
            return _fits(trigger.from_, properties.get("from_stage")) and _fits(
                trigger.to, properties.get("to_stage")
            )
        case ScoreTrigger():
            return properties.get("model_name") == trigger.model and _crossed(trigger, properties)
        case PropertyChangedTrigger():
            return (
                properties.get("property") == trigger.property
                and _fits(trigger.from_, properties.get("from"))
                and _fits(trigger.to, properties.get("to"))
            )
    return False


def _fits(wanted: Any, value: Any) -> bool:
    return wanted is None or str(wanted) == str(value)


def _crossed(trigger: ScoreTrigger, properties: dict[str, Any]) -> bool:
    before = float(properties.get("previous_score") or 0)
    after = float(properties.get("score") or 0)
    if trigger.direction == "up":
        return before < trigger.threshold <= after
    return after < trigger.threshold <= before


def _recent_events(
    session: Session, contact_ids: Sequence[int], names: set[str], since: datetime
) -> list[Any]:
    return list(
        session.execute(
            select(Event.id, Event.contact_id, Event.name, Event.properties, Event.occurred_at)
            .where(
                one_of(session, Event.contact_id, list(contact_ids)),
                Event.occurred_at >= since,
                Event.name.in_(sorted(names)),
            )
            .order_by(Event.id)
        )
    )


def _wake(session: Session, ctx: Context, live: list[Enrollment], events: list[Any]) -> None:
    """Enrollments waiting for an event that came are due now: the engine checks and moves them."""
    came = {(event.contact_id, event.name) for event in events}
    woken = [e.id for e in live if e.wait_event is not None and (e.contact_id, e.wait_event) in came]
    if not woken:
        return
    now = ctx.clock.now()
    session.execute(
        update(Enrollment)
        .where(
            one_of(session, Enrollment.id, woken),
            Enrollment.status == ACTIVE,
            Enrollment.wait_event.is_not(None),
            Enrollment.due_at > now,
        )
        .values(due_at=now)
        .execution_options(synchronize_session=False)
    )


def _end_reached(session: Session, ctx: Context, versions: Versions, live: list[Enrollment]) -> None:
    """Live enrollments whose contact now meets the goal or an exit condition leave at once.

    The step they leave from is recorded in their path, as when the engine finds them leaving;
    what it records comes from the row as the UPDATE found it, whatever a worker did meanwhile.
    """
    if not live:
        return
    now = ctx.clock.now()
    for (status, reason), ids in leavers(session, ctx, versions, live, now).items():
        ended = session.execute(
            update(Enrollment)
            .where(one_of(session, Enrollment.id, sorted(ids)), Enrollment.status == ACTIVE)
            .values(
                status=status,
                reason=reason,
                finished_at=now,
                due_at=None,
                wait_event=None,
                seq=Enrollment.seq + 1,
            )
            .returning(
                Enrollment.id,
                Enrollment.workflow_id,
                Enrollment.version,
                Enrollment.seq,
                Enrollment.step_id,
                Enrollment.step_entered_at,
            )
            .execution_options(synchronize_session=False)
        ).all()
        if ended:
            session.execute(insert(session, StepRun.__table__), [_leaving(row, reason, now) for row in ended])


def _leaving(row: Any, reason: str, now: datetime) -> dict[str, Any]:
    return {
        "enrollment_id": row.id,
        "workflow_id": row.workflow_id,
        "version": row.version,
        "seq": row.seq - 1,
        "step_id": row.step_id,
        "step_type": "leave",
        "outcome": reason,
        "entered_at": row.step_entered_at,
        "left_at": now,
    }


def _enroll_from(session: Session, ctx: Context, active: list[RunnableVersion], events: list[Any]) -> int:
    by_version: dict[int, list[Candidate]] = defaultdict(list)
    versions = {version.id: version for version in active}
    for event in events:
        if event.contact_id is None:
            continue
        properties = event.properties or {}
        for version in active:
            if fires(version, event.name, properties, event.occurred_at, ctx):
                by_version[version.id].append(
                    Candidate(
                        event.contact_id,
                        f"event:{event.id}",
                        {"event": event.name, "event_id": event.id, "properties": properties},
                    )
                )
    return sum(len(enroll(session, ctx, versions[vid], found).enrolled) for vid, found in by_version.items())
