"""Workflows: validate, apply (a changed definition makes a new version), list, show, pause and resume."""

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, FieldError, NotFound
from funnelwise.workflows.definition import dump_definition
from funnelwise.workflows.enrollment import enroll_by_hand
from funnelwise.workflows.models import Workflow, WorkflowVersion
from funnelwise.workflows.schemas import (
    EnrollIn,
    EnrollOut,
    ProblemOut,
    SkippedOut,
    Status,
    ValidationOut,
    VersionOut,
    WorkflowDetail,
    WorkflowOut,
    WorkflowSaved,
)
from funnelwise.workflows.validation import check_definition
from funnelwise.workflows.versions import runnable


def validate_workflow(session: Session, data: Any, *, allow_unknown: bool = False) -> ValidationOut:
    """Checks a definition without storing it; `InvalidInput` names every problem by its path."""
    checked = check_definition(session, data, allow_unknown=allow_unknown)
    return ValidationOut(
        name=checked.definition.name,
        steps=len(checked.definition.steps),
        warnings=_problems(checked.warnings),
    )


def apply_workflow(
    session: Session, ctx: Context, data: Any, *, allow_unknown: bool = False
) -> WorkflowSaved:
    """Creates the workflow of that name as a draft, or gives it a new version if the definition changed."""
    checked = check_definition(session, data, allow_unknown=allow_unknown)
    definition = dump_definition(checked.definition)
    name = checked.definition.name
    now = ctx.clock.now()
    workflow = session.scalar(select(Workflow).where(Workflow.name == name).with_for_update())
    created = workflow is None
    if workflow is None:
        workflow = Workflow(name=name, status=Status.DRAFT, created_at=now, updated_at=now)
        if not write_or_undo(session, lambda: session.add(workflow)):
            # Another apply created it at the same moment: this one becomes its next version.
            created = False
            workflow = session.scalar(select(Workflow).where(Workflow.name == name).with_for_update())
            if workflow is None:
                raise Conflict("name", f"a workflow named {name!r} was created and deleted meanwhile")
    latest = _latest(session, workflow.id)
    changed = latest is None or latest.definition != definition
    if changed:
        session.add(
            WorkflowVersion(
                workflow_id=workflow.id,
                version=(latest.version if latest else 0) + 1,
                definition=definition,
                description=checked.definition.description,
                created_at=now,
            )
        )
        workflow.updated_at = now
        session.flush()
    return WorkflowSaved(
        workflow=_out(session, workflow),
        created=created,
        changed=changed,
        warnings=_problems(checked.warnings),
    )


def list_workflows(session: Session) -> list[WorkflowOut]:
    latest = dict(
        session.execute(
            select(WorkflowVersion.workflow_id, func.max(WorkflowVersion.version)).group_by(
                WorkflowVersion.workflow_id
            )
        ).all()
    )
    workflows = session.scalars(select(Workflow).order_by(Workflow.id))
    return [_out(session, workflow, latest.get(workflow.id, 0)) for workflow in workflows]


def get_workflow(session: Session, workflow_id: int) -> WorkflowDetail:
    """The workflow with every version, newest first."""
    workflow = load_workflow(session, workflow_id)
    versions = session.scalars(
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.version.desc())
    ).all()
    return WorkflowDetail(
        **_out(session, workflow, versions[0].version if versions else 0).model_dump(),
        versions=[
            VersionOut(version=v.version, definition=v.definition, created_at=v.created_at) for v in versions
        ],
    )


def workflow_id_named(session: Session, name: str) -> int:
    """The id of the workflow with this name, or with this id when it is a number no name matches."""
    found = session.scalar(select(Workflow.id).where(Workflow.name == name))
    if found is None and name.isdigit():
        found = session.scalar(select(Workflow.id).where(Workflow.id == int(name)))
    if found is None:
        raise NotFound("workflow", name)
    return found


def pause_workflow(session: Session, ctx: Context, workflow_id: int) -> WorkflowOut:
    """An active workflow stops enrolling and moving contacts until it is resumed."""
    workflow = load_workflow(session, workflow_id, lock=True)
    if workflow.status == Status.DRAFT:
        raise Conflict(
            "status", f"workflow {workflow.name!r} is a draft and has not started; resume it to start it"
        )
    return _set_status(session, ctx, workflow, Status.PAUSED)


def resume_workflow(session: Session, ctx: Context, workflow_id: int) -> WorkflowOut:
    """A draft or paused workflow becomes active."""
    return _set_status(session, ctx, load_workflow(session, workflow_id, lock=True), Status.ACTIVE)


def enroll_contacts(session: Session, ctx: Context, workflow_id: int, data: EnrollIn) -> EnrollOut:
    """Enrolls contacts by hand in an active workflow's current version, by its enrollment rules."""
    workflow = load_workflow(session, workflow_id)
    if workflow.status != Status.ACTIVE:
        raise Conflict(
            "status", f"workflow {workflow.name!r} is {workflow.status}; resume it to enroll contacts"
        )
    latest = _latest(session, workflow.id)
    if latest is None:
        raise NotFound("workflow version", workflow_id)
    key = data.key or uuid.uuid4().hex
    result = enroll_by_hand(session, ctx, runnable(workflow, latest), data.contact_ids, key)
    return EnrollOut(
        enrolled=result.enrolled,
        skipped=[SkippedOut(contact_id=c, reason=r) for c, r in sorted(result.skipped.items())],
    )


def _set_status(session: Session, ctx: Context, workflow: Workflow, status: Status) -> WorkflowOut:
    if workflow.status != status:
        workflow.status = status
        workflow.updated_at = ctx.clock.now()
        if status == Status.ACTIVE:
            workflow.activated_at = workflow.updated_at
        session.flush()
    return _out(session, workflow)


def _latest(session: Session, workflow_id: int) -> WorkflowVersion | None:
    return session.scalar(
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.version.desc())
        .limit(1)
    )


def load_workflow(session: Session, workflow_id: int, *, lock: bool = False) -> Workflow:
    query = select(Workflow).where(Workflow.id == workflow_id)
    workflow = session.scalar(query.with_for_update() if lock else query)
    if workflow is None:
        raise NotFound("workflow", workflow_id)
    return workflow


def _out(session: Session, workflow: Workflow, version: int | None = None) -> WorkflowOut:
    if version is None:
        latest = _latest(session, workflow.id)
        version = latest.version if latest else 0
    return WorkflowOut(
        id=workflow.id,
        name=workflow.name,
        status=Status(workflow.status),
        version=version,
        created_at=workflow.created_at,
        updated_at=workflow.updated_at,
    )


def _problems(found: list[FieldError]) -> list[ProblemOut]:
    return [ProblemOut(path=problem.field, message=problem.message) for problem in found]
