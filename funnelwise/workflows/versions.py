"""A stored workflow version, read back and made ready to run: steps by id, conditions parsed."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.conditions import Condition, parse_condition
from funnelwise.workflows.definition import Step, WorkflowDefinition, read_definition
from funnelwise.workflows.models import Workflow, WorkflowVersion


@dataclass(frozen=True)
class RunnableVersion:
    id: int
    workflow_id: int
    workflow_name: str
    version: int
    activated_at: datetime | None
    definition: WorkflowDefinition
    steps: dict[str, Step]
    goal: Condition | None
    exits: list[Condition]
    _conditions: dict[str, Condition] = field(default_factory=dict, compare=False)

    @property
    def first_step(self) -> str:
        return self.definition.steps[0].id

    def condition(self, data: dict[str, Any]) -> Condition:
        """The parsed form of a condition the definition holds (parsed once per version).

        Keyed by its canonical JSON: a condition built afresh on each call (a trigger's event
        test) finds its parse, and two conditions never share one.
        """
        key = json.dumps(data, sort_keys=True, default=str)
        if key not in self._conditions:
            self._conditions[key] = parse_condition(data)
        return self._conditions[key]


def runnable(workflow: Workflow, version: WorkflowVersion) -> RunnableVersion:
    definition = read_definition(version.definition)
    settings = definition.settings
    return RunnableVersion(
        id=version.id,
        workflow_id=workflow.id,
        workflow_name=workflow.name,
        version=version.version,
        activated_at=workflow.activated_at,
        definition=definition,
        steps={step.id: step for step in definition.steps},
        goal=parse_condition(settings.goal) if settings.goal is not None else None,
        exits=[parse_condition(data) for data in settings.exit_when],
    )


class Versions:
    """The versions one batch of work needs, each read and parsed once."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._loaded: dict[int, RunnableVersion] = {}

    def get(self, version_id: int) -> RunnableVersion:
        if version_id not in self._loaded:
            row = self._session.execute(
                select(Workflow, WorkflowVersion)
                .join(WorkflowVersion, WorkflowVersion.workflow_id == Workflow.id)
                .where(WorkflowVersion.id == version_id)
            ).one()
            self._loaded[version_id] = runnable(row.Workflow, row.WorkflowVersion)
        return self._loaded[version_id]

    def latest_active(self) -> list[RunnableVersion]:
        """The current version of every active workflow: the ones that enroll contacts."""
        newest = (
            select(WorkflowVersion.workflow_id, func.max(WorkflowVersion.version).label("version"))
            .group_by(WorkflowVersion.workflow_id)
            .subquery()
        )
        rows = self._session.execute(
            select(Workflow, WorkflowVersion)
            .join(WorkflowVersion, WorkflowVersion.workflow_id == Workflow.id)
            .join(
                newest,
                (newest.c.workflow_id == WorkflowVersion.workflow_id)
                & (newest.c.version == WorkflowVersion.version),
            )
            .where(Workflow.status == "active")
            .order_by(Workflow.id)
        ).all()
        for row in rows:
            if row.WorkflowVersion.id not in self._loaded:
                self._loaded[row.WorkflowVersion.id] = runnable(row.Workflow, row.WorkflowVersion)
        return [self._loaded[row.WorkflowVersion.id] for row in rows]
