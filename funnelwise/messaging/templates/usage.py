"""What still sends a template: live journeys, unfinished broadcasts and queued messages."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.messaging.broadcasts.schemas import BroadcastStatus
from funnelwise.messaging.models import Broadcast
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.workflows.models import Enrollment, Workflow, WorkflowVersion
from funnelwise.workflows.schemas import EnrollmentStatus, Status

_LIVE_WORKFLOWS = (Status.ACTIVE, Status.PAUSED)
_UNFINISHED = (
    BroadcastStatus.DRAFT,
    BroadcastStatus.SCHEDULED,
    BroadcastStatus.SENDING,
    BroadcastStatus.TESTING,
)


def template_users(session: Session, name: str) -> list[str]:
    """Who would fail with "unknown template" if it went, in words: journeys, broadcasts, queued messages.

    A journey counts when its current version is live (active or paused) or when contacts are
    still on a version that sends the template.
    """
    users = [f"workflow {workflow!r} ({path})" for workflow, path in _journeys(session, name)]
    broadcasts = session.execute(
        select(Broadcast.name, Broadcast.template, Broadcast.ab).where(Broadcast.status.in_(_UNFINISHED))
    )
    users += [
        f"broadcast {b!r}" for b, template, ab in broadcasts if name in _broadcast_templates(template, ab)
    ]
    queued = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.template == name, OutboxMessage.status == OutboxStatus.QUEUED)
    )
    if queued:
        users.append(f"{queued} queued message{'s' if queued != 1 else ''}")
    return users


def _journeys(session: Session, name: str) -> list[tuple[str, str]]:
    """(workflow name, step path) of each send step naming the template in a version still in use."""
    current = (
        select(func.max(WorkflowVersion.id))
        .join(Workflow, Workflow.id == WorkflowVersion.workflow_id)
        .where(Workflow.status.in_(_LIVE_WORKFLOWS))
        .group_by(WorkflowVersion.workflow_id)
    )
    occupied = select(Enrollment.version_id).where(Enrollment.status == EnrollmentStatus.ACTIVE).distinct()
    versions = session.execute(
        select(Workflow.name, WorkflowVersion.definition)
        .join(Workflow, Workflow.id == WorkflowVersion.workflow_id)
        .where(WorkflowVersion.id.in_(current) | WorkflowVersion.id.in_(occupied))
        .order_by(Workflow.name, WorkflowVersion.version)
    )
    found: dict[tuple[str, str], None] = {}
    for workflow, definition in versions:
        for index, step in enumerate(definition.get("steps") or []):
            if isinstance(step, dict) and step.get("type") == "send" and step.get("template") == name:
                found[(workflow, f"steps[{index}]")] = None
    return list(found)


def _broadcast_templates(template: str, ab: dict[str, Any] | None) -> set[str]:
    variants = (ab or {}).get("variants") or []
    return {template} | {v.get("template") for v in variants if isinstance(v, dict)}
