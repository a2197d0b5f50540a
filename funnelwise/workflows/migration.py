"""Moving live enrollments to a newer version on purpose; otherwise each finishes on its own version."""

from sqlalchemy import and_, case, func, literal, select, update
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.db.notify import notify_workers
from funnelwise.db.types import UTCDateTime
from funnelwise.errors import InvalidInput
from funnelwise.workflows.models import Enrollment, WorkflowVersion
from funnelwise.workflows.schemas import EnrollmentStatus, MigrateOut, StrandedOut
from funnelwise.workflows.service import load_workflow


def migrate_enrollments(
    session: Session, ctx: Context, workflow_id: int, to_version: int | None = None
) -> MigrateOut:
    """Moves the active enrollments of older versions to `to_version` (default: the newest).

    An enrollment moves when the target version has a step with the id it stands at; it stays
    where it is in its path, and is due now unless it is waiting to retry a failed step, so the
    engine decides its step afresh by the target version (a wait keeps counting from when it began).
    The others stay on their version and are reported by version and step.
    """
    workflow = load_workflow(session, workflow_id)
    query = select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow_id)
    if to_version is None:
        target = session.scalar(query.order_by(WorkflowVersion.version.desc()).limit(1))
    else:
        target = session.scalar(query.where(WorkflowVersion.version == to_version))
    if target is None:
        newest = session.scalar(
            select(func.max(WorkflowVersion.version)).where(WorkflowVersion.workflow_id == workflow_id)
        )
        raise InvalidInput.single(
            "to_version", f"workflow {workflow.name!r} has no version {to_version}; the newest is {newest}"
        )
    step_ids = [step["id"] for step in target.definition["steps"]]
    older = (
        Enrollment.workflow_id == workflow_id,
        Enrollment.status == EnrollmentStatus.ACTIVE,
        Enrollment.version < target.version,
    )
    now = ctx.clock.now()
    # One statement: on PostgreSQL an enrollment a worker holds is moved once the worker commits,
    # and only if it is still live and at a step the target has.
    moved = session.execute(
        update(Enrollment)
        .where(*older, Enrollment.step_id.in_(step_ids))
        .values(
            version_id=target.id,
            version=target.version,
            due_at=case(
                (and_(Enrollment.attempts == 0, Enrollment.due_at > now), literal(now, UTCDateTime)),
                else_=Enrollment.due_at,
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    stranded = session.execute(
        select(Enrollment.version, Enrollment.step_id, func.count().label("n"))
        .where(*older)
        .group_by(Enrollment.version, Enrollment.step_id)
        .order_by(Enrollment.version, Enrollment.step_id)
    ).all()
    if moved:
        notify_workers(session)
    return MigrateOut(
        to_version=target.version,
        moved=moved,
        stranded=[StrandedOut(version=row.version, step_id=row.step_id, count=row.n) for row in stranded],
    )
