"""Enrolling contacts in a workflow, by the enrollment rules, set-based for any number of contacts.

A contact is not enrolled when it has a live enrollment in the workflow already, has been enrolled
before and re-enrollment is off, was enrolled within the cooldown, is a member of a suppression
segment, meets the goal already, or meets an exit condition. Each enrollment is unique by its
trigger key (`event:<id>`, `manual:<key>`, `schedule:<time>`, …): the same trigger never enrolls
a contact twice, however often it is seen.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.conditions import Condition, compile_condition, without_jit
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, one_of
from funnelwise.db.notify import notify_workers
from funnelwise.db.staging import staged
from funnelwise.segments.models import Segment, SegmentMembership
from funnelwise.workflows.durations import parse_duration
from funnelwise.workflows.models import Enrollment
from funnelwise.workflows.versions import RunnableVersion

ACTIVE = "active"
# From this many enrollments on, PostgreSQL gets them by COPY rather than in the statement.
STAGE_FROM = 200
_enrollments = Enrollment.__table__


@dataclass(frozen=True)
class Candidate:
    """A contact a trigger fired for, with the key that names the firing and what it carried."""

    contact_id: int
    trigger_key: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Enrolled:
    enrolled: list[int]
    skipped: dict[int, str]


def enroll(
    session: Session, ctx: Context, version: RunnableVersion, candidates: Sequence[Candidate]
) -> Enrolled:
    """Enrolls the candidates the rules allow, at the workflow's first step, due now."""
    now = ctx.clock.now()
    firsts: dict[int, Candidate] = {}
    for candidate in candidates:
        firsts.setdefault(candidate.contact_id, candidate)
    skipped = _refusals(session, ctx, version, list(firsts), now)
    chosen = [candidate for contact_id, candidate in firsts.items() if contact_id not in skipped]
    if not chosen:
        return Enrolled(enrolled=[], skipped=skipped)
    rows = [
        {
            "workflow_id": version.workflow_id,
            "version_id": version.id,
            "version": version.version,
            "contact_id": candidate.contact_id,
            "trigger_key": candidate.trigger_key,
            "status": ACTIVE,
            "step_id": version.first_step,
            "step_entered_at": now,
            "due_at": now,
            "seq": 0,
            "attempts": 0,
            "context": candidate.context,
            "enrolled_at": now,
        }
        for candidate in chosen
    ]
    enrolled = sorted({contact_id for chunk in _chunks(rows) for contact_id in _insert(session, chunk)})
    for candidate in chosen:
        if candidate.contact_id not in enrolled:
            skipped[candidate.contact_id] = "enrolled already by this trigger or concurrently"
    if enrolled:
        notify_workers(session)
    return Enrolled(enrolled=enrolled, skipped=skipped)


def matching_among(
    session: Session, ctx: Context, tree: Condition, contact_ids: Sequence[int], now: datetime
) -> set[int]:
    """Which of these contacts meet the condition at `now`: one query for all of them."""
    if not contact_ids:
        return set()
    condition = compile_condition(tree, now, ctx.settings.tz, dialect_name(session))
    query = select(Contact.id).where(one_of(session, Contact.id, list(contact_ids)), condition)
    with without_jit(session):
        return set(session.scalars(query))


def _refusals(
    session: Session, ctx: Context, version: RunnableVersion, contact_ids: list[int], now: datetime
) -> dict[int, str]:
    """Why each refused contact may not enroll; the rules in the order a user would ask about them."""
    settings = version.definition.settings
    refused: dict[int, str] = {}

    def refuse(ids: set[int], reason: str) -> None:
        for contact_id in ids:
            refused.setdefault(contact_id, reason)

    mine = one_of(session, _enrollments.c.contact_id, contact_ids)
    in_workflow = _enrollments.c.workflow_id == version.workflow_id
    live = session.scalars(
        select(_enrollments.c.contact_id).where(in_workflow, mine, _enrollments.c.status == ACTIVE)
    )
    refuse(set(live), "enrolled already")
    if not settings.reenrollment:
        before = session.scalars(select(_enrollments.c.contact_id).where(in_workflow, mine).distinct())
        refuse(set(before), "enrolled before and re-enrollment is off")
    elif settings.cooldown is not None:
        since = now - parse_duration(settings.cooldown)
        recent = session.scalars(
            select(_enrollments.c.contact_id)
            .where(in_workflow, mine)
            .group_by(_enrollments.c.contact_id)
            .having(func.max(_enrollments.c.enrolled_at) > since)
        )
        refuse(set(recent), f"enrolled within the cooldown of {settings.cooldown}")
    if settings.suppression_segments:
        suppressed = session.scalars(
            select(SegmentMembership.contact_id)
            .join(Segment, Segment.id == SegmentMembership.segment_id)
            .where(
                Segment.name.in_(settings.suppression_segments),
                SegmentMembership.exited_at.is_(None),
                one_of(session, SegmentMembership.contact_id, contact_ids),
            )
        )
        refuse(set(suppressed), "in a suppression segment")
    open_ids = [contact_id for contact_id in contact_ids if contact_id not in refused]
    if version.goal is not None:
        refuse(matching_among(session, ctx, version.goal, open_ids, now), "meets the goal already")
    for index, condition in enumerate(version.exits):
        open_ids = [contact_id for contact_id in open_ids if contact_id not in refused]
        refuse(matching_among(session, ctx, condition, open_ids, now), f"meets exit condition {index + 1}")
    return refused


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts the enrollments no unique key refuses; the contacts enrolled."""
    statement = insert(session, _enrollments).on_conflict_do_nothing()
    if dialect_name(session) != "postgresql" or len(rows) < STAGE_FROM:
        return list(session.scalars(statement.returning(_enrollments.c.contact_id), rows))
    with staged(session, _enrollments, rows) as stage:
        source = select(*stage.c)
        return list(
            session.scalars(
                statement.from_select(list(stage.c.keys()), source).returning(_enrollments.c.contact_id)
            )
        )


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> list[list[dict[str, Any]]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def enroll_by_hand(
    session: Session, ctx: Context, version: RunnableVersion, contact_ids: Sequence[int], key: str
) -> Enrolled:
    """Manual or API enrollment; `key` names the request, so sending it again enrolls nobody twice."""
    existing = set(session.scalars(select(Contact.id).where(one_of(session, Contact.id, list(contact_ids)))))
    result = enroll(
        session,
        ctx,
        version,
        [
            Candidate(contact_id, f"manual:{key}", {"manual": True})
            for contact_id in contact_ids
            if contact_id in existing
        ],
    )
    missing = {contact_id: "no such contact" for contact_id in contact_ids if contact_id not in existing}
    return Enrolled(enrolled=result.enrolled, skipped=result.skipped | missing)
