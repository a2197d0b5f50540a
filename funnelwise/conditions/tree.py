"""The condition tree: small immutable nodes, loaded from JSON or YAML by `parse_condition`.

A node is a mapping with one key that says what it is (`all`, `any`, `not`, `property`, `company`,
`event`, `aggregate`, `first_time`, `last_time`, `consent`, or a key a later package registered).
"""

import re
from collections.abc import Iterator
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    field_validator,
)
from pydantic import model_validator as _model_validator
from pydantic_core import PydanticCustomError

from funnelwise.conditions.columns import COMPANY_COLUMNS, CONTACT_COLUMNS, column_mismatch
from funnelwise.conditions.operands import (
    OperandError,
    check_operand,
    days,
    moment,
    number_operand,
    time_operand,
)
from funnelwise.conditions.operators import (
    NUMBER_OPERATORS,
    TIME_OPERATORS,
    Aggregation,
    Operator,
    Performed,
)
from funnelwise.contacts.properties import PROPERTY_NAME
from funnelwise.messaging.consent import TOPIC_PATTERN, Channel, ConsentStatus

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refuse(reason: str) -> PydanticCustomError:
    """A validation error whose message is shown to the marketer as it is."""
    return PydanticCustomError("condition", "{reason}", {"reason": reason})


def _event_name(name: str) -> str:
    if not 1 <= len(name) <= 255 or _CONTROL.search(name):
        raise refuse(f"{name!r} is not an event name (1 to 255 characters)")
    return name


def _event_property_name(name: str) -> str:
    # A double quote would end SQLite's quoted JSON path label; it is refused, not escaped.
    if not 1 <= len(name) <= 255 or _CONTROL.search(name) or '"' in name:
        raise refuse(f"{name!r} is not an event property name (1 to 255 characters, no double quotes)")
    return name


EventName = Annotated[str, AfterValidator(_event_name)]
EventPropertyName = Annotated[str, AfterValidator(_event_property_name)]


class Condition(BaseModel):
    """Any node of a condition tree: a combination of conditions, or a leaf."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


Child = SerializeAsAny[Condition]


class All(Condition):
    """True when every condition is; an empty list is true (everyone)."""

    all: tuple[Child, ...]


class AnyOf(Condition):
    """True when at least one condition is; an empty list is false (no one)."""

    any: tuple[Child, ...]


class Not(Condition):
    negated: Child = Field(alias="not")


class _Comparison(Condition):
    operator: Operator
    value: Any = Field(default=None, validate_default=True)

    @field_validator("value")
    @classmethod
    def _value_fits_operator(cls, value: Any, info: ValidationInfo) -> Any:
        operator = info.data.get("operator")
        if operator is None:
            return value
        try:
            return check_operand(operator, value)
        except OperandError as exc:
            raise refuse(str(exc)) from None


class ContactProperty(_Comparison):
    """A built-in contact field or a custom contact property."""

    property: str

    @field_validator("property")
    @classmethod
    def _property_name(cls, name: str) -> str:
        return _property_name(name, CONTACT_COLUMNS)

    @_model_validator(mode="after")
    def _fits_column(self) -> Self:
        return _fits_column(self, self.property, CONTACT_COLUMNS)


class CompanyProperty(_Comparison):
    """A built-in field or custom property of the contact's company."""

    company: str

    @field_validator("company")
    @classmethod
    def _property_name(cls, name: str) -> str:
        return _property_name(name, COMPANY_COLUMNS)

    @_model_validator(mode="after")
    def _fits_column(self) -> Self:
        return _fits_column(self, self.company, COMPANY_COLUMNS)


class EventProperty(_Comparison):
    """A test on a property of an event; event properties are free-form, so most names are allowed."""

    property: EventPropertyName


class _EventFilter(Condition):
    where: tuple[EventProperty, ...] = ()
    within_last_days: int | None = None
    between: tuple[Any, Any] | None = None

    @field_validator("within_last_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        return _operand(days, value) if value is not None else None

    @field_validator("between", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        if value is None:
            return None
        return _operand(lambda v: check_operand(Operator.BETWEEN, [moment(part) for part in v]), value)

    @_model_validator(mode="after")
    def _one_window(self) -> Self:
        if self.within_last_days is not None and self.between is not None:
            raise refuse("give either within_last_days or between, not both")
        return self


class EventCondition(_EventFilter):
    """The contact performed an event (matching `where`) some number of times in a window."""

    event: EventName
    performed: Performed = Performed.AT_LEAST
    times: int = Field(default=1, ge=0)

    @_model_validator(mode="after")
    def _times_fit(self) -> Self:
        if self.performed is Performed.NEVER and "times" in self.model_fields_set:
            raise refuse("'never' takes no times")
        if self.performed is Performed.AT_LEAST and self.times == 0:
            raise refuse("'at_least' needs times of 1 or more (at least 0 is everyone)")
        return self


class AggregateCondition(_EventFilter):
    """A number computed from one property of the contact's events, compared with a value."""

    aggregate: Aggregation
    of: EventPropertyName
    event: EventName
    operator: Operator
    value: Any = Field(default=None, validate_default=True)

    @field_validator("operator")
    @classmethod
    def _number_operator(cls, operator: Operator) -> Operator:
        return _among(operator, NUMBER_OPERATORS, "an aggregate")

    @field_validator("value")
    @classmethod
    def _number(cls, value: Any, info: ValidationInfo) -> Any:
        operator = info.data.get("operator")
        return _operand(lambda v: number_operand(operator, v), value) if operator else value


class _Occurrence(Condition):
    where: tuple[EventProperty, ...] = ()
    operator: Operator
    value: Any = Field(default=None, validate_default=True)

    @field_validator("operator")
    @classmethod
    def _time_operator(cls, operator: Operator) -> Operator:
        return _among(operator, TIME_OPERATORS, "a first or last time")

    @field_validator("value")
    @classmethod
    def _moment(cls, value: Any, info: ValidationInfo) -> Any:
        operator = info.data.get("operator")
        return _operand(lambda v: time_operand(operator, v), value) if operator else value


class FirstTime(_Occurrence):
    """When the contact first performed an event; false for a contact who never did."""

    first_time: EventName


class LastTime(_Occurrence):
    """When the contact last performed an event; false for a contact who never did."""

    last_time: EventName


class ConsentCondition(Condition):
    """The contact's consent for a channel (and topic, when given) has this status."""

    consent: Channel
    topic: str | None = Field(default=None, pattern=TOPIC_PATTERN)
    status: ConsentStatus = ConsentStatus.GRANTED


def children(node: Condition) -> tuple[tuple[str, Condition], ...]:
    """The child nodes with the path step that leads to each."""
    if isinstance(node, All):
        return tuple((f"all[{i}]", child) for i, child in enumerate(node.all))
    if isinstance(node, AnyOf):
        return tuple((f"any[{i}]", child) for i, child in enumerate(node.any))
    if isinstance(node, Not):
        return (("not", node.negated),)
    return ()


def walk(node: Condition, path: str = "") -> Iterator[tuple[str, Condition]]:
    """Every node of a tree with its path, such as `all[2].not`, parents first."""
    yield path, node
    for step, child in children(node):
        yield from walk(child, f"{path}.{step}" if path else step)


def event_name(node: Condition) -> str | None:
    """The event a leaf is about, if it is about one."""
    match node:
        case EventCondition() | AggregateCondition():
            return node.event
        case FirstTime():
            return node.first_time
        case LastTime():
            return node.last_time
    return None


def event_names(tree: Condition) -> set[str]:
    """Every event a tree is about: the only events the in-memory evaluator needs to load."""
    return {name for _, node in walk(tree) if (name := event_name(node)) is not None}


def reads_consents(tree: Condition) -> bool:
    """Whether a tree has a consent leaf: without one, the in-memory evaluator needs no consents."""
    return any(isinstance(node, ConsentCondition) for _, node in walk(tree))


def _operand(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except OperandError as exc:
        raise refuse(str(exc)) from None


def _among(operator: Operator, allowed: frozenset[Operator], what: str) -> Operator:
    if operator not in allowed:
        names = ", ".join(sorted(allowed))
        raise refuse(f"'{operator}' does not apply to {what}; expected one of {names}")
    return operator


def _property_name(name: str, columns: dict[str, Any]) -> str:
    if name not in columns and not PROPERTY_NAME.fullmatch(name):
        raise refuse(f"{name!r} is not a property name (lower-case letters, digits and _)")
    return name


def _fits_column(node: _Comparison, name: str, columns: dict[str, Any]) -> Any:
    kind = columns.get(name)
    problem = column_mismatch(name, kind, node.operator, node.value) if kind else None
    if problem:
        raise refuse(problem)
    return node
