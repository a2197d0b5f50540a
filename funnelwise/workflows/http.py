"""/api/v1/workflows: validate and apply definitions, list and show workflows, pause and resume them."""

from typing import Any

from fastapi import APIRouter, Body, Depends, Response, status

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.workflows.schemas import ValidationOut, WorkflowDetail, WorkflowOut, WorkflowSaved
from funnelwise.workflows.service import (
    apply_workflow,
    get_workflow,
    list_workflows,
    pause_workflow,
    resume_workflow,
    validate_workflow,
)

router = APIRouter(prefix="/workflows", tags=["workflows"])
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
