"""What a condition asks of one value, with `now` applied: the small form both evaluators read.

A leaf's operator and value are resolved once into one of these predicates; the SQL compiler and
the in-memory evaluator each interpret the same few predicates, so they cannot drift apart on what
"within the last 30 days" or "in [a, b]" means.
"""

from dataclasses import dataclass
from datetime import date, datetime

from funnelwise.conditions.operators import NEGATIONS, RELATIVE_DAYS, Operator
from funnelwise.conditions.relative_time import Moment, TimeRange, instant_text, time_range

Number = int | float
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """Text as it is compared: the letters A-Z in lower case, every other character unchanged.

    Only A-Z, because that is what SQLite's lower() folds; PostgreSQL and Python are made to match.
    """
    return text.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class IsSet:
    """The value is there and is not null."""


@dataclass(frozen=True)
class TextIn:
    """The text (or one text element of a list) is one of these, folded."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class TextContains:
    needle: str


@dataclass(frozen=True)
class TextStartsWith:
    prefix: str


@dataclass(frozen=True)
class NumberIn:
    values: tuple[Number, ...]


@dataclass(frozen=True)
class NumberRange:
    low: Number | None = None
    low_inclusive: bool = True
    high: Number | None = None
    high_inclusive: bool = True


@dataclass(frozen=True)
class BooleanIs:
    value: bool


@dataclass(frozen=True)
class InTime:
    """A moment in `range`; date-only text is a whole day, compared as the days the range covers."""

    range: TimeRange
    first_day: str | None
    end_day: str | None
    start_text: str | None
    end_text: str | None


@dataclass(frozen=True)
class Anniversary:
    """The month and day are today's (`MM-DD`), read in the installation's timezone."""

    month_days: tuple[str, ...]
    offset_minutes: int


@dataclass(frozen=True)
class Either:
    """One of several predicates: `in` with values of different types."""

    parts: tuple["Predicate", ...]


Predicate = (
    IsSet | TextIn | TextContains | TextStartsWith | NumberIn | NumberRange | BooleanIs | InTime | Anniversary
) | Either


@dataclass(frozen=True)
class Test:
    """A predicate, or its negation: `not_equals` is `equals` negated, so missing values match it."""

    predicate: Predicate
    negated: bool


def resolve(operator: Operator, value: object, moment: Moment) -> Test:
    positive = NEGATIONS.get(operator, operator)
    return Test(_predicate(positive, value, moment), negated=positive is not operator)


def in_time(range_: TimeRange, moment: Moment) -> InTime:
    return InTime(
        range=range_,
        first_day=_day_text(range_.start, moment),
        end_day=_day_text(range_.end, moment),
        start_text=instant_text(range_.start) if range_.start else None,
        end_text=instant_text(range_.end) if range_.end else None,
    )


def _predicate(operator: Operator, value: object, moment: Moment) -> Predicate:
    if operator is Operator.IS_SET:
        return IsSet()
    if operator is Operator.ANNIVERSARY_TODAY:
        return Anniversary(moment.anniversary_days(), moment.utc_offset_minutes())
    if operator in RELATIVE_DAYS or _is_time(value):
        return in_time(time_range(operator, value, moment), moment)
    if operator is Operator.CONTAINS:
        assert isinstance(value, str)
        return TextContains(fold(value))
    if operator is Operator.STARTS_WITH:
        assert isinstance(value, str)
        return TextStartsWith(fold(value))
    if operator in (Operator.EQUALS, Operator.IN):
        return _one_of(value if isinstance(value, tuple) else (value,))
    return _number_range(operator, value)


def _one_of(values: tuple[object, ...]) -> Predicate:
    parts: list[Predicate] = []
    texts = tuple(fold(v) for v in values if isinstance(v, str))
    numbers = tuple(v for v in values if isinstance(v, int | float) and not isinstance(v, bool))
    if texts:
        parts.append(TextIn(texts))
    if numbers:
        parts.append(NumberIn(numbers))
    parts.extend(BooleanIs(v) for v in dict.fromkeys(v for v in values if isinstance(v, bool)))
    return parts[0] if len(parts) == 1 else Either(tuple(parts))


def _number_range(operator: Operator, value: object) -> NumberRange:
    match operator:
        case Operator.GT:
            return NumberRange(low=_number(value), low_inclusive=False)
        case Operator.GTE:
            return NumberRange(low=_number(value))
        case Operator.LT:
            return NumberRange(high=_number(value), high_inclusive=False)
        case Operator.LTE:
            return NumberRange(high=_number(value))
        case Operator.BETWEEN:
            assert isinstance(value, tuple)
            return NumberRange(low=_number(value[0]), high=_number(value[1]))
    raise ValueError(f"{operator} does not compare numbers")


def _number(value: object) -> Number:
    assert isinstance(value, int | float)
    return value


def _is_time(value: object) -> bool:
    if isinstance(value, tuple):
        return any(_is_time(v) for v in value)
    return isinstance(value, date | datetime)


def _day_text(bound: datetime | None, moment: Moment) -> str | None:
    return moment.first_day_from(bound).isoformat() if bound else None
