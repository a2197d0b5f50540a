"""A workflow definition as written in YAML or JSON: a trigger, a graph of steps and settings.

`read_definition` turns decoded data into a `WorkflowDefinition` or raises `InvalidInput` naming
every bad node by its path (`steps[2].duration`); the graph and the names it uses are checked by
`funnelwise.workflows.validation`.
"""

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from funnelwise.conditions import Condition, parse_condition
from funnelwise.contacts.fields import LifecycleStage
from funnelwise.errors import FieldError, InvalidInput
from funnelwise.messaging.message import MessageChannel
from funnelwise.workflows.cron import CronError, check_cron
from funnelwise.workflows.durations import DurationError, parse_duration

_STEP_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _refuse(reason: str) -> PydanticCustomError:
    return PydanticCustomError("workflow", "{reason}", {"reason": reason})


def _duration(text: str) -> str:
    try:
        parse_duration(text)
    except DurationError as exc:
        raise _refuse(str(exc)) from None
    return text


def _step_id(text: str) -> str:
    if not _STEP_ID.fullmatch(text):
        raise _refuse(f"{text!r} is not a step id (lower-case letters, digits, - and _, up to 64)")
    return text


def _time_of_day(text: str) -> str:
    if not _TIME_OF_DAY.fullmatch(text):
        raise _refuse(f"{text!r} is not a time of day; write HH:MM on a 24-hour clock, such as 10:00")
    return text


def _cron(text: str) -> str:
    try:
        return check_cron(text)
    except CronError as exc:
        raise _refuse(str(exc)) from None


Duration = Annotated[str, AfterValidator(_duration)]
StepId = Annotated[str, AfterValidator(_step_id)]
TimeOfDay = Annotated[str, AfterValidator(_time_of_day)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
# Parsed by `parsed_conditions` after the rest, so a bad node is named by its full path.
ConditionData = dict[str, Any]


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# Triggers: what enrolls a contact.


class EventTrigger(_Node):
    """The contact performed an event whose properties pass `where` (condition-language tests)."""

    type: Literal["event"]
    event: Name
    where: list[dict[str, Any]] = Field(default_factory=list)

    def condition(self) -> dict[str, Any]:
        """The trigger as an event condition, for parsing its `where` and checking its names."""
        return {"event": self.event, "where": self.where} if self.where else {"event": self.event}


class SegmentTrigger(_Node):
    type: Literal["segment_entered", "segment_exited"]
    segment: Name


class PropertyChangedTrigger(_Node):
    """A contact property changed; `from` and `to` narrow it to given old and new values."""

    type: Literal["property_changed"]
    property: Name
    from_: Any = Field(default=None, alias="from")
    to: Any = None


class StageChangedTrigger(_Node):
    type: Literal["lifecycle_stage_changed"]
    from_: LifecycleStage | None = Field(default=None, alias="from")
    to: LifecycleStage | None = None


class ScoreTrigger(_Node):
    """A contact's score in a score model crossed a threshold, going up (default) or down."""

    type: Literal["score_crossed"]
    model: Name
    threshold: float
    direction: Literal["up", "down"] = "up"


class DateTrigger(_Node):
    """A date property comes round: `offset_days` before (negative) or after it, at `at` local time."""

    type: Literal["date_property"]
    property: Name
    offset_days: int = Field(default=0, ge=-366, le=366)
    at: TimeOfDay = "09:00"
    every_year: bool = False


class ScheduleTrigger(_Node):
    """Every time the cron schedule fires (installation timezone), the segment's members enroll."""

    type: Literal["schedule"]
    cron: Annotated[str, AfterValidator(_cron)]
    segment: Name


class ListTrigger(_Node):
    type: Literal["list_added"]
    list: Name


class ManualTrigger(_Node):
    """Enrollment only by hand: the API, the CLI or another workflow's `enroll` step."""

    type: Literal["manual"]


Trigger = Annotated[
    EventTrigger
    | SegmentTrigger
    | PropertyChangedTrigger
    | StageChangedTrigger
    | ScoreTrigger
    | DateTrigger
    | ScheduleTrigger
    | ListTrigger
    | ManualTrigger,
    Field(discriminator="type"),
]


# Steps: the nodes of the graph. `next` (or the branch fields) name other steps; none ends the journey.


class _Step(_Node):
    id: StepId


class _Linear(_Step):
    next: StepId | None = None


class SendStep(_Linear):
    """Send a template on a channel, through the message outbox."""

    type: Literal["send"]
    channel: MessageChannel
    template: Name
    # "best": held until the contact's best hour, learned from its past opens and clicks.
    send_time: Literal["now", "best"] = "now"


class WaitStep(_Linear):
    type: Literal["wait"]
    duration: Duration


class WaitUntilStep(_Linear):
    """Wait until the next moment, in the contact's timezone, that fits every field given."""

    type: Literal["wait_until"]
    date_property: Name | None = None
    time: TimeOfDay | None = None
    weekdays: list[Weekday] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_wait_for(self) -> "WaitUntilStep":
        if self.date_property is None and self.time is None and not self.weekdays:
            raise _refuse("wait_until needs a date_property, a time or weekdays")
        return self


class WaitForEventStep(_Step):
    """Wait for an event (or the timeout, whichever comes first) and go on by which came."""

    type: Literal["wait_for_event"]
    event: Name
    where: list[dict[str, Any]] = Field(default_factory=list)
    timeout: Duration
    on_event: StepId | None = None
    on_timeout: StepId | None = None

    def condition(self) -> dict[str, Any]:
        return {"event": self.event, "where": self.where} if self.where else {"event": self.event}


class IfElseStep(_Step):
    type: Literal["if_else"]
    condition: ConditionData
    then: StepId | None = None
    else_: StepId | None = Field(default=None, alias="else")


class Branch(_Node):
    name: Name
    condition: ConditionData
    next: StepId | None = None


class SplitStep(_Step):
    """The first branch whose condition holds; `else` for a contact no branch takes."""

    type: Literal["split"]
    branches: list[Branch] = Field(min_length=1, max_length=20)
    else_: StepId | None = Field(default=None, alias="else")


class Variant(_Node):
    name: Name
    weight: int = Field(ge=1, le=1000)
    next: StepId | None = None


class AbSplitStep(_Step):
    """A random variant by weight; `holdout` percent of contacts leave here, as a control group."""

    type: Literal["ab_split"]
    variants: list[Variant] = Field(min_length=1, max_length=20)
    holdout: float = Field(default=0, ge=0, lt=100)


class SetPropertyStep(_Linear):
    type: Literal["set_property"]
    property: Name
    value: Any


class IncrementPropertyStep(_Linear):
    """Add `by` (negative to decrease) to a number property."""

    type: Literal["increment_property"]
    property: Name
    by: float = 1

    @model_validator(mode="after")
    def _changes_something(self) -> "IncrementPropertyStep":
        if self.by == 0:
            raise _refuse("increment_property by 0 changes nothing")
        return self


class ListStep(_Linear):
    type: Literal["add_to_list", "remove_from_list"]
    list: Name


class StageStep(_Linear):
    type: Literal["set_lifecycle_stage"]
    stage: LifecycleStage


class AssignOwnerStep(_Linear):
    """Give the contact an owner by the assignment rules, or a named user (their email)."""

    type: Literal["assign_owner"]
    owner: Name | None = None


class CreateTaskStep(_Linear):
    type: Literal["create_task"]
    title: Name
    due_in: Duration | None = None


class UpsertDealStep(_Linear):
    """Create the contact's deal of this name, or update it."""

    type: Literal["upsert_deal"]
    name: Name
    pipeline: Name | None = None
    stage: Name | None = None
    amount: int | None = Field(default=None, ge=0)


class WebhookStep(_Linear):
    """POST a signed payload (HMAC-SHA256 with `secret`) to `url`, with retries."""

    type: Literal["webhook"]
    url: Annotated[str, Field(pattern=r"^https?://[^\s/]+", max_length=2048)]
    secret: str | None = Field(default=None, min_length=16, max_length=255)


class EnrollStep(_Linear):
    type: Literal["enroll"]
    workflow: Name


class ExitStep(_Step):
    type: Literal["exit"]


Step = Annotated[
    SendStep
    | WaitStep
    | WaitUntilStep
    | WaitForEventStep
    | IfElseStep
    | SplitStep
    | AbSplitStep
    | SetPropertyStep
    | IncrementPropertyStep
    | ListStep
    | StageStep
    | AssignOwnerStep
    | CreateTaskStep
    | UpsertDealStep
    | WebhookStep
    | EnrollStep
    | ExitStep,
    Field(discriminator="type"),
]
WAITS = (WaitStep, WaitUntilStep, WaitForEventStep)


class Settings(_Node):
    """Who enrolls and who leaves: re-enrollment, cooldown, goal, exit criteria, suppression."""

    reenrollment: bool = False
    cooldown: Duration | None = None
    goal: ConditionData | None = None
    exit_when: list[ConditionData] = Field(default_factory=list)
    suppression_segments: list[Name] = Field(default_factory=list)


class WorkflowDefinition(_Node):
    name: Name
    description: str = ""
    trigger: Trigger
    steps: list[Step] = Field(min_length=1, max_length=500)
    settings: Settings = Field(default_factory=Settings)


def links(step: Any) -> list[tuple[str, str]]:
    """The steps a step leads to, each with the field that names it (`next`, `branches[1].next`)."""
    found: list[tuple[str, str | None]]
    match step:
        case IfElseStep():
            found = [("then", step.then), ("else", step.else_)]
        case SplitStep():
            found = [(f"branches[{i}].next", b.next) for i, b in enumerate(step.branches)]
            found.append(("else", step.else_))
        case AbSplitStep():
            found = [(f"variants[{i}].next", v.next) for i, v in enumerate(step.variants)]
        case WaitForEventStep():
            found = [("on_event", step.on_event), ("on_timeout", step.on_timeout)]
        case ExitStep():
            found = []
        case _:
            found = [("next", step.next)]
    return [(field, target) for field, target in found if target is not None]


def read_definition(data: Any) -> WorkflowDefinition:
    """A definition from decoded YAML or JSON; `InvalidInput` names every bad node by its path."""
    if not isinstance(data, dict):
        raise InvalidInput.single("workflow", "expected a mapping with name, trigger, steps and settings")
    try:
        return WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput([_field_error(error) for error in exc.errors()]) from None


def condition_sources(definition: WorkflowDefinition) -> list[tuple[str, dict[str, Any]]]:
    """Every condition a definition holds, as written, with its path; event tests read as event conditions."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(definition.trigger, EventTrigger):
        found.append(("trigger", definition.trigger.condition()))
    for i, step in enumerate(definition.steps):
        match step:
            case WaitForEventStep():
                found.append((f"steps[{i}]", step.condition()))
            case IfElseStep():
                found.append((f"steps[{i}].condition", step.condition))
            case SplitStep():
                found.extend(
                    (f"steps[{i}].branches[{j}].condition", b.condition) for j, b in enumerate(step.branches)
                )
    if definition.settings.goal is not None:
        found.append(("settings.goal", definition.settings.goal))
    found.extend((f"settings.exit_when[{i}]", c) for i, c in enumerate(definition.settings.exit_when))
    return found


def parsed_conditions(definition: WorkflowDefinition) -> list[tuple[str, Condition]]:
    """Every condition parsed; `InvalidInput` names each bad node by its full path."""
    parsed: list[tuple[str, Condition]] = []
    errors: list[FieldError] = []
    for path, data in condition_sources(definition):
        try:
            parsed.append((path, parse_condition(data)))
        except InvalidInput as exc:
            errors.extend(_under(path, error) for error in exc.errors)
    if errors:
        raise InvalidInput(errors)
    return parsed


def _under(path: str, error: FieldError) -> FieldError:
    return FieldError(path if error.field == "condition" else f"{path}.{error.field}", error.message)


def dump_definition(definition: WorkflowDefinition) -> dict[str, Any]:
    """JSON-ready data that `read_definition` reads back; defaults are left out."""
    return definition.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _path(loc: tuple[int | str, ...]) -> str:
    """`steps[2].duration` from pydantic's location, without the union tag it inserts."""
    tag_at = 1 if loc[:1] == ("trigger",) else 2 if loc[:1] == ("steps",) else None
    parts: list[str] = []
    for index, part in enumerate(loc):
        if index == tag_at or (isinstance(part, str) and part.startswith("function-")):
            continue
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]"
        else:
            parts.append(part.removesuffix("_"))
    return ".".join(parts) or "workflow"


def _field_error(error: ErrorDetails) -> FieldError:
    path = _path(error["loc"])
    name = str(error["loc"][-1]) if error["loc"] else ""
    match error["type"]:
        case "workflow" | "condition":
            return FieldError(path, error["msg"])
        case "union_tag_invalid":
            ctx = error.get("ctx", {})
            return FieldError(
                f"{path}.type", f"unknown type {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
            )
        case "union_tag_not_found":
            return FieldError(f"{path}.type", "missing 'type'")
        case "enum":
            expected = error.get("ctx", {}).get("expected", "")
            return FieldError(path, f"unknown {name} {error['input']!r}; expected one of {expected}")
        case "extra_forbidden":
            return FieldError(path, f"unknown key {name!r}")
        case "missing":
            return FieldError(path, f"missing {name!r}")
    return FieldError(path, error["msg"])
