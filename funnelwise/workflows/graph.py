"""The shape of a workflow's step graph: references that lead nowhere, steps nothing reaches, loops without a wait."""

from dataclasses import dataclass
from typing import Any

from funnelwise.errors import FieldError
from funnelwise.workflows.definition import WAITS, WorkflowDefinition, links


@dataclass(frozen=True)
class GraphCheck:
    errors: list[FieldError]
    warnings: list[FieldError]


def check_graph(definition: WorkflowDefinition) -> GraphCheck:
    """Errors for duplicate ids, dangling links and waitless loops; warnings for unreachable steps."""
    errors: list[FieldError] = []
    index: dict[str, int] = {}
    for i, step in enumerate(definition.steps):
        if step.id in index:
            errors.append(
                FieldError(f"steps[{i}].id", f"step id {step.id!r} is used by steps[{index[step.id]}] too")
            )
        else:
            index[step.id] = i
    for i, step in enumerate(definition.steps):
        for field, target in links(step):
            if target not in index:
                errors.append(
                    FieldError(
                        f"steps[{i}].{field}", f"step {step.id!r} goes to {target!r}, but no step has that id"
                    )
                )
    if errors:
        return GraphCheck(errors, [])
    reached = _reachable(definition.steps, index)
    warnings = [
        FieldError(f"steps[{i}]", f"no step leads to step {step.id!r}, so no contact will ever reach it")
        for i, step in enumerate(definition.steps)
        if step.id not in reached
    ]
    return GraphCheck(_waitless_loops(definition.steps, index), warnings)


def _reachable(steps: list[Any], index: dict[str, int]) -> set[str]:
    seen = {steps[0].id}
    pending = [steps[0]]
    while pending:
        for _field, target in links(pending.pop()):
            if target not in seen:
                seen.add(target)
                pending.append(steps[index[target]])
    return seen


def _waitless_loops(steps: list[Any], index: dict[str, int]) -> list[FieldError]:
    """A loop through steps none of which waits would run forever at once: one error per loop found."""
    errors: list[FieldError] = []
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(step_id: str, path: list[str]) -> None:
        state[step_id] = "open"
        step = steps[index[step_id]]
        for field, target in links(step):
            if isinstance(steps[index[target]], WAITS):
                continue
            if state.get(target) == "open":
                trail = [*path, step_id]
                loop = [*trail[trail.index(target) :], target]
                errors.append(
                    FieldError(
                        f"steps[{index[step_id]}].{field}",
                        f"the steps {' → '.join(loop)} go round in a loop without a wait; "
                        "a contact would repeat them forever at once",
                    )
                )
            elif target not in state:
                visit(target, [*path, step_id])
        state[step_id] = "done"

    for step in steps:
        if step.id not in state and not isinstance(step, WAITS):
            visit(step.id, [])
    return errors
