"""Checking the value an operator is given, and reading dates written as text."""

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from funnelwise.conditions.operators import (
    NEGATIONS,
    ORDERING,
    RELATIVE_DAYS,
    TEXT_ONLY,
    WITHOUT_VALUE,
    Operator,
)

MAX_DAYS = 36_600
MAX_VALUES = 1_000
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})")


class OperandError(ValueError):
    """A value that does not fit its operator; the message is for a marketer."""


def check_operand(operator: Operator, value: Any) -> Any:
    """The value in the form the evaluators read: tuples for lists, dates for date text."""
    positive = NEGATIONS.get(operator, operator)
    if positive in WITHOUT_VALUE:
        if value is not None:
            raise OperandError(f"'{operator}' takes no value")
        return None
    if value is None:
        raise OperandError(f"'{operator}' needs a value")
    if positive in RELATIVE_DAYS:
        return days(value)
    if positive in TEXT_ONLY:
        if not isinstance(value, str):
            raise OperandError(f"'{operator}' compares text; expected text, got {describe(value)}")
        return value
    if positive is Operator.IN:
        return _choices(value)
    if positive is Operator.BETWEEN:
        return _between(value)
    if positive in ORDERING:
        return _orderable(value)
    return _scalar(value)


def time_operand(operator: Operator, value: Any) -> Any:
    """Like `check_operand`, for something that is always a moment (an event's first or last time)."""
    if operator not in RELATIVE_DAYS:
        for part in value if isinstance(value, list | tuple) else (value,):
            moment(part)
    return check_operand(operator, value)


def number_operand(operator: Operator, value: Any) -> Any:
    """Like `check_operand`, for a number computed from events (an aggregate)."""
    for part in value if isinstance(value, list | tuple) else (value,):
        if not _is_number(part):
            raise OperandError(f"expected a number, got {describe(part)}")
    return check_operand(operator, value)


def days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        raise OperandError(f"expected a whole number of days from 0 to {MAX_DAYS}, got {describe(value)}")
    return value


def moment(value: Any) -> date:
    """A date, or a date-time with its offset (kept in UTC, to the second)."""
    parsed = _as_time(value)
    if parsed is None:
        raise OperandError(f"expected a date such as '2026-03-01', got {describe(value)}")
    return parsed


def describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing"
    if isinstance(value, list | tuple | dict):
        return f"a {'list' if isinstance(value, list | tuple) else 'mapping'}"
    return f"{type(value).__name__} {value!r}"


def _scalar(value: Any) -> Any:
    as_time = _as_time(value)
    if as_time is not None:
        return as_time
    if isinstance(value, str | bool) or _is_number(value):
        return value
    raise OperandError(f"expected text, a number, true/false or a date, got {describe(value)}")


def _choices(value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise OperandError(f"'in' needs a list of values, got {describe(value)}")
    if not value:
        raise OperandError("'in' needs at least one value")
    if len(value) > MAX_VALUES:
        raise OperandError(f"'in' takes at most {MAX_VALUES} values, got {len(value)}")
    for item in value:
        if not (isinstance(item, str | bool) or _is_number(item)):
            raise OperandError(f"'in' lists text, numbers or true/false, got {describe(item)}")
    return tuple(value)


def _orderable(value: Any) -> Any:
    if _is_number(value):
        return value
    as_time = _as_time(value)
    if as_time is None:
        raise OperandError(f"expected a number or a date such as '2026-03-01', got {describe(value)}")
    return as_time


def _between(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise OperandError(f"'between' needs two values, [low, high], got {describe(value)}")
    low, high = (_orderable(part) for part in value)
    if _is_number(low) != _is_number(high):
        raise OperandError("'between' needs two numbers or two dates")
    if _is_number(low) and low > high:
        raise OperandError(f"'between' needs the lower value first, got [{low}, {high}]")
    if not _is_number(low) and _as_instant(low) > _as_instant(high):
        raise OperandError(f"'between' needs the earlier date first, got [{low}, {high}]")
    return low, high


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _as_time(value: Any) -> date | None:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise OperandError(f"the date-time {value.isoformat()} needs its offset, such as +09:00")
        return value.astimezone(UTC).replace(microsecond=0)
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise OperandError(f"{value!r} is not a date") from None
    if isinstance(value, str) and _ISO_DATETIME.fullmatch(value):
        try:
            return _as_time(datetime.fromisoformat(value))
        except ValueError:
            raise OperandError(f"{value!r} is not a date-time") from None
    return None


def _as_instant(value: date) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
