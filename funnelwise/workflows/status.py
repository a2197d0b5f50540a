"""What workflows are doing: counts per version and step, the enrollments, and each contact's path.

Counts come from a few GROUP BY queries over the enrollments and the step runs (the path rows the
engine writes), never from loading enrollments one by one, so they stay quick at any size.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, distinct, exists, func, select
from sqlalchemy.orm import Session

from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.schemas import Page
from funnelwise.contacts.service import load_contact
from funnelwise.db.dialect import one_of
from funnelwise.workflows.models import Enrollment, StepRun, Workflow, WorkflowVersion
from funnelwise.workflows.schemas import (
    EnrollmentOut,
    EnrollmentStatus,
    JourneyOut,
    Status,
    StepCountsOut,
    StepTakenOut,
    VersionStatusOut,
    VersionTotalsOut,
    WorkflowStatusOut,
)
from funnelwise.workflows.service import load_workflow

# Statuses of an enrollment that ended at its step for a reason other than reaching the end.
_ENDED_THERE = (EnrollmentStatus.EXITED, EnrollmentStatus.CONVERTED, EnrollmentStatus.FAILED)
_Counts = dict[tuple[int, str], dict[str, int]]


def workflow_status(session: Session, workflow_id: int) -> WorkflowStatusOut:
    """Per version (newest first) and step (in definition order): entered, waiting, went on, ended there."""
    workflow = load_workflow(session, workflow_id)
    versions = session.execute(
        select(WorkflowVersion.version, WorkflowVersion.definition)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.version.desc())
    ).all()
    counts = _step_counts(session, workflow_id)
    return WorkflowStatusOut(
        id=workflow.id,
        name=workflow.name,
        status=Status(workflow.status),
        version=versions[0].version if versions else 0,
        versions=[_version_status(v.version, v.definition, counts) for v in versions],
    )


def list_enrollments(
    session: Session,
    workflow_id: int,
    *,
    status: EnrollmentStatus | None = None,
    step: str | None = None,
    version: int | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[EnrollmentOut]:
    """The workflow's enrollments, newest first; pass `next_cursor` back for the next page."""
    load_workflow(session, workflow_id)
    query = select(Enrollment).where(Enrollment.workflow_id == workflow_id)
    if status is not None:
        query = query.where(Enrollment.status == status)
    if step is not None:
        query = query.where(Enrollment.step_id == step)
    if version is not None:
        query = query.where(Enrollment.version == version)
    if cursor:
        query = query.where(Enrollment.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(Enrollment.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(results=[_enrollment_out(row) for row in rows[:limit]], next_cursor=next_cursor)


def contact_journeys(session: Session, contact_id: int) -> list[JourneyOut]:
    """Every enrollment of the contact (a merged-away id answers with the kept contact's), newest first."""
    contact = load_contact(session, contact_id)
    rows = session.execute(
        select(Enrollment, Workflow.name)
        .join(Workflow, Workflow.id == Enrollment.workflow_id)
        .where(Enrollment.contact_id == contact.id)
        .order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc())
    ).all()
    taken: dict[int, list[StepTakenOut]] = defaultdict(list)
    if rows:
        runs = session.scalars(
            select(StepRun)
            .where(one_of(session, StepRun.enrollment_id, [row.Enrollment.id for row in rows]))
            .order_by(StepRun.enrollment_id, StepRun.seq)
        )
        for run in runs:
            taken[run.enrollment_id].append(
                StepTakenOut(
                    step_id=run.step_id,
                    type=run.step_type,
                    entered_at=run.entered_at,
                    left_at=run.left_at,
                    outcome=run.outcome,
                )
            )
    return [_journey(row.Enrollment, row.name, taken[row.Enrollment.id]) for row in rows]


def _step_counts(session: Session, workflow_id: int) -> _Counts:
    """Counts by (version, step id): `entered`, `went_on` (the step's `completed`), and the enrollments by status."""
    counts: _Counts = defaultdict(lambda: defaultdict(int))
    run, enrollment = StepRun, Enrollment
    reached = session.execute(
        select(run.version, run.step_id, func.count(distinct(run.enrollment_id)).label("n"))
        .where(run.workflow_id == workflow_id)
        .group_by(run.version, run.step_id)
    )
    for row in reached:
        counts[(row.version, row.step_id)]["entered"] += row.n
        counts[(row.version, row.step_id)]["went_on"] += row.n
    # The run recording an enrollment's last visit (same step, entered at the same moment), when it
    # left or failed there, is where its journey ended, not a step done: only ended enrollments are
    # looked at, each by the run of its last visit.
    ended_there = session.execute(
        select(run.version, run.step_id, func.count().label("n"))
        .join(
            enrollment,
            and_(
                run.enrollment_id == enrollment.id,
                run.step_id == enrollment.step_id,
                run.entered_at == enrollment.step_entered_at,
            ),
        )
        .where(enrollment.workflow_id == workflow_id, enrollment.status.in_(_ENDED_THERE))
        .group_by(run.version, run.step_id)
    )
    for row in ended_there:
        counts[(row.version, row.step_id)]["went_on"] -= row.n
    by_status = session.execute(
        select(enrollment.version, enrollment.step_id, enrollment.status, func.count().label("n"))
        .where(enrollment.workflow_id == workflow_id)
        .group_by(enrollment.version, enrollment.step_id, enrollment.status)
    )
    for row in by_status:
        counts[(row.version, row.step_id)][row.status] += row.n
    # Enrollments standing at a step without a run there yet (waiting, or ended there by the goal or
    # an exit condition without a record) reached it too.
    recorded_there = exists().where(
        run.enrollment_id == enrollment.id,
        run.version == enrollment.version,
        run.step_id == enrollment.step_id,
    )
    unrecorded = session.execute(
        select(enrollment.version, enrollment.step_id, func.count().label("n"))
        .where(enrollment.workflow_id == workflow_id, ~recorded_there)
        .group_by(enrollment.version, enrollment.step_id)
    )
    for row in unrecorded:
        counts[(row.version, row.step_id)]["entered"] += row.n
    return counts


def _version_status(version: int, definition: dict[str, Any], counts: _Counts) -> VersionStatusOut:
    types = {step["id"]: step["type"] for step in definition.get("steps", [])}
    # A step id counted but not in the definition would be a bug elsewhere; show it, never hide it.
    strays = sorted(step for v, step in counts if v == version and step not in types)
    steps = [
        _step_out(step_id, types.get(step_id, ""), counts.get((version, step_id), {}))
        for step_id in [*types, *strays]
    ]
    return VersionStatusOut(version=version, steps=steps, totals=_totals(counts, version))


def _step_out(step_id: str, step_type: str, found: dict[str, int]) -> StepCountsOut:
    return StepCountsOut(
        step_id=step_id,
        type=step_type,
        entered=found.get("entered", 0),
        waiting=found.get(EnrollmentStatus.ACTIVE, 0),
        completed=found.get("went_on", 0),
        exited=found.get(EnrollmentStatus.EXITED, 0),
        converted=found.get(EnrollmentStatus.CONVERTED, 0),
        failed=found.get(EnrollmentStatus.FAILED, 0),
    )


def _totals(counts: _Counts, version: int) -> VersionTotalsOut:
    by_status: dict[str, int] = defaultdict(int)
    for (v, _step), found in counts.items():
        if v == version:
            for status in EnrollmentStatus:
                by_status[status] += found.get(status, 0)
    return VersionTotalsOut(
        enrolled=sum(by_status.values()),
        active=by_status[EnrollmentStatus.ACTIVE],
        completed=by_status[EnrollmentStatus.COMPLETED],
        exited=by_status[EnrollmentStatus.EXITED],
        converted=by_status[EnrollmentStatus.CONVERTED],
        failed=by_status[EnrollmentStatus.FAILED],
    )


def _enrollment_out(enrollment: Enrollment) -> EnrollmentOut:
    active = enrollment.status == EnrollmentStatus.ACTIVE
    return EnrollmentOut(
        id=enrollment.id,
        contact_id=enrollment.contact_id,
        version=enrollment.version,
        status=EnrollmentStatus(enrollment.status),
        reason=enrollment.reason,
        step_id=enrollment.step_id,
        step_entered_at=enrollment.step_entered_at,
        due_at=enrollment.due_at if active else None,
        waiting_for=enrollment.wait_event if active else None,
        attempts=enrollment.attempts,
        last_error=enrollment.last_error,
        enrolled_at=enrollment.enrolled_at,
        finished_at=enrollment.finished_at,
    )


def _journey(enrollment: Enrollment, workflow: str, steps: Iterable[StepTakenOut]) -> JourneyOut:
    active = enrollment.status == EnrollmentStatus.ACTIVE
    return JourneyOut(
        enrollment_id=enrollment.id,
        workflow_id=enrollment.workflow_id,
        workflow=workflow,
        version=enrollment.version,
        status=EnrollmentStatus(enrollment.status),
        reason=enrollment.reason,
        enrolled_at=enrollment.enrolled_at,
        finished_at=enrollment.finished_at,
        current_step=enrollment.step_id if active else None,
        due_at=enrollment.due_at if active else None,
        waiting_for=enrollment.wait_event if active else None,
        attempts=enrollment.attempts,
        last_error=enrollment.last_error,
        steps=list(steps),
    )
