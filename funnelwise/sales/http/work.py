"""/api/v1/sales/tasks and /api/v1/sales/sla-policies: follow-ups, their deadlines and escalation."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import Response

from funnelwise.api.deps import ContextDep, IdPath, IdQuery, SessionDep, require
from funnelwise.contacts.schemas import Page
from funnelwise.sales.escalation import escalate_overdue, task_escalations
from funnelwise.sales.schemas import (
    EscalationOut,
    EscalationReport,
    SlaPolicyCreated,
    SlaPolicyIn,
    SlaPolicyOut,
    TaskIn,
    TaskOut,
)
from funnelwise.sales.tasks import (
    CANCELLED,
    DONE,
    create_sla_policy,
    create_task,
    delete_sla_policy,
    finish_task,
    get_task,
    list_sla_policies,
    list_tasks,
)

router = APIRouter(prefix="/sales", tags=["sales"])
Read = Depends(require("sales:read"))
Write = Depends(require("sales:write"))


@router.get("/sla-policies", dependencies=[Read])
def policies(session: SessionDep) -> list[SlaPolicyOut]:
    return list_sla_policies(session)


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def policy_create(session: SessionDep, ctx: ContextDep, body: SlaPolicyIn) -> SlaPolicyCreated:
    """A follow-up deadline for contacts entering a stage; a webhook's signing secret is shown once."""
    return create_sla_policy(session, ctx, body)


@router.delete("/sla-policies/{policy_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def policy_delete(session: SessionDep, policy_id: IdPath) -> Response:
    delete_sla_policy(session, policy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/tasks", dependencies=[Read])
def tasks(
    session: SessionDep,
    ctx: ContextDep,
    owner_id: IdQuery = None,
    contact_id: IdQuery = None,
    status: Annotated[str | None, Query(pattern="^(open|done|cancelled)$")] = None,
    overdue: bool = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[TaskOut]:
    return list_tasks(
        session,
        ctx,
        owner_id=owner_id,
        contact_id=contact_id,
        status=status,
        overdue=overdue,
        cursor=cursor,
        limit=limit,
    )


@router.post("/tasks", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def task_create(session: SessionDep, ctx: ContextDep, body: TaskIn) -> TaskOut:
    return create_task(session, ctx, body)


@router.get("/tasks/{task_id}", dependencies=[Read])
def task_read(session: SessionDep, task_id: IdPath) -> TaskOut:
    return get_task(session, task_id)


@router.post("/tasks/{task_id}/complete", dependencies=[Write])
def task_complete(session: SessionDep, ctx: ContextDep, task_id: IdPath) -> TaskOut:
    return finish_task(session, ctx, task_id, DONE)


@router.post("/tasks/{task_id}/cancel", dependencies=[Write])
def task_cancel(session: SessionDep, ctx: ContextDep, task_id: IdPath) -> TaskOut:
    return finish_task(session, ctx, task_id, CANCELLED)


@router.get("/tasks/{task_id}/escalations", dependencies=[Read])
def task_escalated(session: SessionDep, task_id: IdPath) -> list[EscalationOut]:
    get_task(session, task_id)
    return task_escalations(session, task_id)


@router.post("/escalate", dependencies=[Write])
def escalate(session: SessionDep, ctx: ContextDep) -> EscalationReport:
    """Escalates overdue tasks now (the worker does this on every tick)."""
    return escalate_overdue(session, ctx)
