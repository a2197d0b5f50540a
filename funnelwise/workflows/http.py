"""/api/v1/workflows: validate and apply definitions, list and show workflows, pause and resume them;
enroll contacts, see where they are, and move live enrollments to a newer version.
/api/v1/contacts/{id}/journeys: a contact's path through every workflow."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.contacts.schemas import Page
from funnelwise.messaging.broadcasts import WorkflowFigures, workflow_figures
from funnelwise.workflows.migration import migrate_enrollments
from funnelwise.workflows.schemas import (
    EnrollIn,
    EnrollmentOut,
    EnrollmentStatus,
    EnrollOut,
    JourneyOut,
    MigrateIn,
    MigrateOut,
    ValidationOut,
    WorkflowDetail,
    WorkflowOut,
    WorkflowSaved,
    WorkflowStatusOut,
)
from funnelwise.workflows.service import (
    apply_workflow,
    enroll_contacts,
    get_workflow,
    list_workflows,
    pause_workflow,
    resume_workflow,
    validate_workflow,
)
from funnelwise.workflows.status import contact_journeys, list_enrollments, workflow_status

router = APIRouter(prefix="/workflows", tags=["workflows"])
# Routes about one contact, under /contacts, kept with the workflows they describe.
journeys_router = APIRouter(tags=["workflows"])
Read = Depends(require("workflows:read"))
Write = Depends(require("workflows:write"))
# The definition as written in YAML or JSON (see docs/workflows.md); checked by the service, so a
# bad node is named by its path.
Definition = Body(..., description="A workflow definition: name, trigger, steps, settings")


@router.post("/validate", dependencies=[Read])
def validate(
    session: SessionDep, definition: dict[str, Any] = Definition, allow_unknown: bool = False
) -> ValidationOut:
    """Checks a definition without storing it: 422 with every problem by its path, or the warnings."""
    return validate_workflow(session, definition, allow_unknown=allow_unknown)


@router.post("", dependencies=[Write])
def apply(
    session: SessionDep,
    ctx: ContextDep,
    response: Response,
    definition: dict[str, Any] = Definition,
    allow_unknown: bool = False,
) -> WorkflowSaved:
    """Creates the workflow (201, as a draft) or, when its definition changed, a new version of it."""
    saved = apply_workflow(session, ctx, definition, allow_unknown=allow_unknown)
    response.status_code = status.HTTP_201_CREATED if saved.created else status.HTTP_200_OK
    return saved


@router.get("", dependencies=[Read])
def index(session: SessionDep) -> list[WorkflowOut]:
    return list_workflows(session)


@router.get("/{workflow_id}", dependencies=[Read])
def read(session: SessionDep, workflow_id: IdPath) -> WorkflowDetail:
    return get_workflow(session, workflow_id)


@router.post("/{workflow_id}/pause", dependencies=[Write])
def pause(session: SessionDep, ctx: ContextDep, workflow_id: IdPath) -> WorkflowOut:
    return pause_workflow(session, ctx, workflow_id)


@router.post("/{workflow_id}/resume", dependencies=[Write])
def resume(session: SessionDep, ctx: ContextDep, workflow_id: IdPath) -> WorkflowOut:
    return resume_workflow(session, ctx, workflow_id)


@router.get("/{workflow_id}/status", dependencies=[Read])
def show_status(session: SessionDep, workflow_id: IdPath) -> WorkflowStatusOut:
    """Per version and step: how many enrollments entered, wait there, went on, exited, converted, failed."""
    return workflow_status(session, workflow_id)


@router.get("/{workflow_id}/figures", dependencies=[Read])
def figures(
    session: SessionDep,
    ctx: ContextDep,
    workflow_id: IdPath,
    conversion_event: Annotated[
        str | None, Query(max_length=255, description="Count contacts who did this after a message")
    ] = None,
) -> WorkflowFigures:
    """Its messages in all and per send step: sent, delivered, opened, clicked, bounced, converted."""
    get_workflow(session, workflow_id)
    return workflow_figures(session, ctx, workflow_id, conversion_event=conversion_event)


@router.get("/{workflow_id}/enrollments", dependencies=[Read])
def enrollments(
    session: SessionDep,
    workflow_id: IdPath,
    state: Annotated[EnrollmentStatus | None, Query(alias="status")] = None,
    step: Annotated[str | None, Query(max_length=64, description="Only those at this step id")] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[EnrollmentOut]:
    """The workflow's enrollments, newest first; pass `next_cursor` back for the next page."""
    return list_enrollments(
        session, workflow_id, status=state, step=step, version=version, cursor=cursor, limit=limit
    )


@router.post("/{workflow_id}/enrollments", dependencies=[Write])
def enroll(session: SessionDep, ctx: ContextDep, workflow_id: IdPath, data: EnrollIn) -> EnrollOut:
    """Enrolls contacts by hand in an active workflow (409 otherwise); the same `key` enrolls once."""
    return enroll_contacts(session, ctx, workflow_id, data)


@router.post("/{workflow_id}/migrate", dependencies=[Write])
def migrate(
    session: SessionDep, ctx: ContextDep, workflow_id: IdPath, data: MigrateIn | None = None
) -> MigrateOut:
    """Moves live enrollments of older versions to `to_version` (the newest by default) where their step is."""
    return migrate_enrollments(session, ctx, workflow_id, (data or MigrateIn()).to_version)


@journeys_router.get("/contacts/{contact_id}/journeys", dependencies=[Read])
def journeys(session: SessionDep, contact_id: IdPath) -> list[JourneyOut]:
    """The contact's path through each workflow it was enrolled in, newest first."""
    return contact_journeys(session, contact_id)
