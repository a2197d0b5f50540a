"""Checking a definition against the database: every property, event, list, segment, model and
message template it names."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.conditions import Condition, check_names, parse_condition
from funnelwise.contacts.fields import CONTACT_FIELDS
from funnelwise.contacts.models import PropertyDefinition
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.errors import FieldError, InvalidInput
from funnelwise.messaging.templates.store import template_channels
from funnelwise.scoring.models import ScoreModel
from funnelwise.segments.models import Segment, StaticList
from funnelwise.workflows.definition import (
    DateTrigger,
    EnrollStep,
    IncrementPropertyStep,
    ListStep,
    ListTrigger,
    PropertyChangedTrigger,
    ScheduleTrigger,
    ScoreTrigger,
    SegmentTrigger,
    SendStep,
    SetPropertyStep,
    WaitUntilStep,
    WorkflowDefinition,
    parsed_conditions,
    read_definition,
)
from funnelwise.workflows.graph import check_graph
from funnelwise.workflows.models import Workflow


@dataclass(frozen=True)
class Checked:
    definition: WorkflowDefinition
    warnings: list[FieldError]


def check_definition(session: Session, data: Any, *, allow_unknown: bool = False) -> Checked:
    """The definition, or `InvalidInput` with every problem by its path.

    Unknown properties, events and templates are errors unless `allow_unknown` (then warnings): a
    workflow waits on them for weeks, and a typo would only show when nobody ever moves on. A send
    step on another channel than its template's is always an error.
    """
    definition = read_definition(data)
    conditions = parsed_conditions(definition)
    graph = check_graph(definition)
    errors = list(graph.errors)
    names = _unknown_names(session, definition, conditions)
    unknown_templates, wrong_channels = _templates(session, definition)
    names.extend(unknown_templates)
    errors.extend(wrong_channels)
    errors.extend(_unknown_records(session, definition))
    errors.extend(_wrong_kinds(session, definition))
    warnings = list(graph.warnings)
    if allow_unknown:
        warnings.extend(names)
    else:
        errors.extend(names)
    if errors:
        raise InvalidInput(errors)
    return Checked(definition, warnings)


def _unknown_names(
    session: Session, definition: WorkflowDefinition, conditions: list[tuple[str, Condition]]
) -> list[FieldError]:
    trees = list(conditions) + [
        (path, parse_condition({"property": name, "operator": "is_set"}))
        for path, name in _properties(definition)
    ]
    found: list[FieldError] = []
    for path, tree in trees:
        for warning in check_names(session, tree):
            at = path if warning.path == "condition" else f"{path}.{warning.path}"
            found.append(FieldError(at, warning.message))
    return found


def _properties(definition: WorkflowDefinition) -> Iterator[tuple[str, str]]:
    trigger = definition.trigger
    if isinstance(trigger, PropertyChangedTrigger | DateTrigger):
        yield "trigger.property", trigger.property
    for i, step in enumerate(definition.steps):
        if isinstance(step, SetPropertyStep | IncrementPropertyStep):
            yield f"steps[{i}].property", step.property
        if isinstance(step, WaitUntilStep) and step.date_property is not None:
            yield f"steps[{i}].date_property", step.date_property


# Built-in contact fields by what they hold; the rest of the built-ins hold text or ids.
_BUILT_IN_DATES = {"created_at", "updated_at"}
_DATES = {PropertyType.DATE, PropertyType.DATETIME}


def _wrong_kinds(session: Session, definition: WorkflowDefinition) -> list[FieldError]:
    """A date trigger or wait needs a date property; `increment_property` a number property."""
    wanted: list[tuple[str, str, str]] = []
    trigger = definition.trigger
    if isinstance(trigger, DateTrigger):
        wanted.append(("trigger.property", trigger.property, "date"))
    for i, step in enumerate(definition.steps):
        if isinstance(step, WaitUntilStep) and step.date_property is not None:
            wanted.append((f"steps[{i}].date_property", step.date_property, "date"))
        if isinstance(step, IncrementPropertyStep):
            wanted.append((f"steps[{i}].property", step.property, "number"))
    if not wanted:
        return []
    types = dict(
        session.execute(
            select(PropertyDefinition.name, PropertyDefinition.type).where(
                PropertyDefinition.object_type == ObjectType.CONTACT,
                PropertyDefinition.name.in_({name for _, name, _ in wanted}),
            )
        ).all()
    )
    errors: list[FieldError] = []
    for path, name, kind in wanted:
        if name in _BUILT_IN_DATES:
            actual = PropertyType.DATETIME.value
        elif name in CONTACT_FIELDS:
            actual = "built-in text or id"
        elif name in types:
            actual = types[name]
        else:
            continue  # unknown: the name check reports it
        fits = actual in _DATES if kind == "date" else actual == PropertyType.NUMBER
        if not fits:
            errors.append(FieldError(path, f"{name!r} is a {actual} property; this needs a {kind} property"))
    return errors


def _unknown_records(session: Session, definition: WorkflowDefinition) -> list[FieldError]:
    """Lists, segments, score models and workflows are named by their names; each must exist."""
    wanted: dict[str, list[tuple[str, str]]] = {"list": [], "segment": [], "score model": [], "workflow": []}
    trigger = definition.trigger
    if isinstance(trigger, SegmentTrigger | ScheduleTrigger):
        wanted["segment"].append(("trigger.segment", trigger.segment))
    if isinstance(trigger, ListTrigger):
        wanted["list"].append(("trigger.list", trigger.list))
    if isinstance(trigger, ScoreTrigger):
        wanted["score model"].append(("trigger.model", trigger.model))
    for i, step in enumerate(definition.steps):
        if isinstance(step, ListStep):
            wanted["list"].append((f"steps[{i}].list", step.list))
        if isinstance(step, EnrollStep) and step.workflow != definition.name:
            wanted["workflow"].append((f"steps[{i}].workflow", step.workflow))
    for i, name in enumerate(definition.settings.suppression_segments):
        wanted["segment"].append((f"settings.suppression_segments[{i}]", name))
    columns = {
        "list": StaticList.name,
        "segment": Segment.name,
        "score model": ScoreModel.name,
        "workflow": Workflow.name,
    }
    errors: list[FieldError] = []
    for what, uses in wanted.items():
        if not uses:
            continue
        column = columns[what]
        known = set(session.scalars(select(column).where(column.in_({name for _, name in uses}))))
        errors.extend(
            FieldError(path, f"no {what} is named {name!r}") for path, name in uses if name not in known
        )
    return errors


def _templates(session: Session, definition: WorkflowDefinition) -> tuple[list[FieldError], list[FieldError]]:
    """Send steps whose template does not exist, and those on another channel than their template's."""
    sends = [(i, step) for i, step in enumerate(definition.steps) if isinstance(step, SendStep)]
    channels = template_channels(session, {step.template for _, step in sends})
    unknown: list[FieldError] = []
    wrong: list[FieldError] = []
    for i, step in sends:
        channel = channels.get(step.template)
        if channel is None:
            unknown.append(FieldError(f"steps[{i}].template", f"no template is named {step.template!r}"))
        elif channel != step.channel:
            wrong.append(
                FieldError(
                    f"steps[{i}].channel",
                    f"template {step.template!r} is a {channel} template; this step sends {step.channel}",
                )
            )
    return unknown, wrong
