"""Deciding a condition for one contact in memory: the hot path of an incoming event."""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from funnelwise.conditions.columns import COMPANY_COLUMNS, CONTACT_COLUMNS, ColumnKind
from funnelwise.conditions.facts import EventFact, Facts
from funnelwise.conditions.operators import Aggregation, Performed
from funnelwise.conditions.predicates import (
    Anniversary,
    BooleanIs,
    Either,
    InTime,
    IsSet,
    NumberIn,
    NumberRange,
    Predicate,
    Test,
    TextContains,
    TextIn,
    TextStartsWith,
    fold,
    resolve,
)
from funnelwise.conditions.registry import kind_of
from funnelwise.conditions.relative_time import Moment, window
from funnelwise.conditions.tree import (
    AggregateCondition,
    All,
    AnyOf,
    CompanyProperty,
    Condition,
    ConsentCondition,
    ContactProperty,
    EventCondition,
    EventProperty,
    FirstTime,
    LastTime,
    Not,
)


def evaluate(tree: Condition, facts: Facts, now: datetime, tz: tzinfo) -> bool:
    """Whether one contact, known by its facts, meets the condition at `now`."""
    return _holds(tree, facts, Moment(now, tz))


def passes(test: Test, value: Any) -> bool:
    """A resolved test on one value: a missing value fails every predicate, so it passes a negation."""
    return _predicate_holds(test.predicate, value) != test.negated


def _holds(node: Condition, facts: Facts, moment: Moment) -> bool:
    match node:
        case All():
            return all(_holds(child, facts, moment) for child in node.all)
        case AnyOf():
            return any(_holds(child, facts, moment) for child in node.any)
        case Not():
            return not _holds(node.negated, facts, moment)
        case ContactProperty():
            value = _field(facts.contact, node.property, CONTACT_COLUMNS)
            return passes(resolve(node.operator, node.value, moment), value)
        case CompanyProperty():
            company = facts.company
            value = _field(company, node.company, COMPANY_COLUMNS) if company is not None else None
            return passes(resolve(node.operator, node.value, moment), value)
        case EventCondition():
            return _count_fits(node, len(_matching(node.event, node, facts, moment)))
        case AggregateCondition():
            value = _aggregate(node, _matching(node.event, node, facts, moment))
            return passes(resolve(node.operator, node.value, moment), value)
        case FirstTime() | LastTime():
            name = node.first_time if isinstance(node, FirstTime) else node.last_time
            times = [event.occurred_at for event in _matching(name, node, facts, moment)]
            chosen = (min if isinstance(node, FirstTime) else max)(times, default=None)
            return passes(resolve(node.operator, node.value, moment), chosen)
        case ConsentCondition():
            return any(
                consent.channel == node.consent
                and (node.topic is None or consent.topic == node.topic)
                and consent.status == node.status
                for consent in facts.consents
            )
    return kind_of(node).evaluate(node, facts, moment)


def _field(record: Mapping[str, Any], name: str, columns: Mapping[str, ColumnKind]) -> Any:
    if name in columns:
        return record.get(name)
    return (record.get("properties") or {}).get(name)


def _matching(
    name: str, node: EventCondition | AggregateCondition | FirstTime | LastTime, facts: Facts, moment: Moment
) -> list[EventFact]:
    span = window(getattr(node, "within_last_days", None), getattr(node, "between", None), moment)
    tests = [(where.property, _resolved(where, moment)) for where in node.where]
    return [
        event
        for event in facts.events
        if event.name == name
        and span.holds(event.occurred_at)
        and all(passes(test, event.properties.get(key)) for key, test in tests)
    ]


def _resolved(where: EventProperty, moment: Moment) -> Test:
    return resolve(where.operator, where.value, moment)


def _count_fits(node: EventCondition, count: int) -> bool:
    match node.performed:
        case Performed.AT_LEAST:
            return count >= node.times
        case Performed.AT_MOST:
            return count <= node.times
        case Performed.EXACTLY:
            return count == node.times
    return count == 0


def _aggregate(node: AggregateCondition, events: list[EventFact]) -> int | float | None:
    values = [event.properties.get(node.of) for event in events]
    if node.aggregate is Aggregation.COUNT_DISTINCT:
        return len({key for value in values if (key := _distinct_key(value)) is not None})
    numbers = [value for value in values if _is_number(value)]
    match node.aggregate:
        case Aggregation.SUM:
            return sum(numbers)
        case Aggregation.AVG:
            return sum(numbers) / len(numbers) if numbers else None
        case Aggregation.MIN:
            return min(numbers, default=None)
    return max(numbers, default=None)


def _distinct_key(value: Any) -> tuple[str, Any] | None:
    """Texts count once whatever their case; numbers once whatever their form (1 and 1.0)."""
    if isinstance(value, str):
        return ("text", fold(value))
    if _is_number(value):
        return ("number", float(value))
    return None


def _predicate_holds(predicate: Predicate, value: Any) -> bool:
    match predicate:
        case IsSet():
            return value is not None
        case TextIn() | TextContains() | TextStartsWith():
            if isinstance(value, list):
                return any(_text_holds(predicate, item) for item in value if isinstance(item, str))
            return isinstance(value, str) and _text_holds(predicate, value)
        case NumberIn():
            return _is_number(value) and value in predicate.values
        case NumberRange():
            return _is_number(value) and _in_range(predicate, value)
        case BooleanIs():
            return isinstance(value, bool) and value == predicate.value
        case InTime():
            return _in_time(predicate, value)
        case Anniversary():
            return _anniversary(predicate, value)
        case Either():
            return any(_predicate_holds(part, value) for part in predicate.parts)
    raise TypeError(f"unknown predicate {predicate!r}")


def _text_holds(predicate: TextIn | TextContains | TextStartsWith, text: str) -> bool:
    folded = fold(text)
    match predicate:
        case TextIn():
            return folded in predicate.values
        case TextContains():
            return predicate.needle in folded
    return folded.startswith(predicate.prefix)


def _in_range(predicate: NumberRange, value: float) -> bool:
    low, high = predicate.low, predicate.high
    if low is not None and (value < low or (value == low and not predicate.low_inclusive)):
        return False
    return high is None or value < high or (value == high and predicate.high_inclusive)


def _in_time(predicate: InTime, value: Any) -> bool:
    if isinstance(value, datetime):
        return predicate.range.holds(value)
    if not isinstance(value, str):
        return False
    # Date-only text is a calendar day; longer text is a UTC date-time, compared to the second.
    text, low, high = (
        (value, predicate.first_day, predicate.end_day)
        if len(value) == 10
        else (value[:19], predicate.start_text, predicate.end_text)
    )
    return (low is None or text >= low) and (high is None or text < high)


def _anniversary(predicate: Anniversary, value: Any) -> bool:
    if isinstance(value, datetime):
        local = value.astimezone(UTC) + timedelta(minutes=predicate.offset_minutes)
        return local.strftime("%m-%d") in predicate.month_days
    return isinstance(value, str) and len(value) == 10 and value[5:10] in predicate.month_days


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
