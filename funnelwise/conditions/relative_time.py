"""Dates and relative days turned into exact ranges of time, counted in the installation's timezone.

Every range is half-open, `[start, end)`, in whole UTC seconds: a condition compares moments to the
second, so a value stored with a fraction of a second compares like its whole second.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from funnelwise.conditions.operators import Operator

SECOND = timedelta(seconds=1)
# How date-time text is compared: its first 19 characters, UTC, as Funnelwise stores date-times.
INSTANT_TEXT = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class Moment:
    """When a condition is evaluated, and the timezone its calendar days are counted in."""

    now: datetime
    tz: tzinfo

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("conditions need a timezone-aware now; take it from the Clock")

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def day_start(self, day: date) -> datetime:
        """00:00 of a calendar day in the installation's timezone, in UTC."""
        return datetime.combine(day, time(), tzinfo=self.tz).astimezone(UTC)

    def first_day_from(self, moment: datetime) -> date:
        """The first calendar day that starts at or after a moment."""
        day = moment.astimezone(self.tz).date()
        return day if self.day_start(day) >= moment else day + timedelta(days=1)

    def anniversary_days(self) -> tuple[str, ...]:
        """The `MM-DD` days whose anniversary is today; 29 February is celebrated on the 28th."""
        today = self.today
        days = (today.strftime("%m-%d"),)
        if today.month == 2 and today.day == 28 and not _is_leap(today.year):
            days += ("02-29",)
        return days

    def utc_offset_minutes(self) -> int:
        """The installation's offset from UTC now; anniversaries of date-times are read with it."""
        offset = self.now.astimezone(self.tz).utcoffset() or timedelta(0)
        return int(offset.total_seconds() // 60)


@dataclass(frozen=True)
class TimeRange:
    """`[start, end)` in whole UTC seconds; either side may be open."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, moment: datetime) -> bool:
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment < self.end


def time_range(operator: Operator, value: object, moment: Moment) -> TimeRange:
    """The range of moments a time operator with its value selects."""
    today = moment.today
    match operator:
        case Operator.WITHIN_LAST_DAYS:
            assert isinstance(value, int)
            return TimeRange(moment.day_start(today - timedelta(days=value)), _tomorrow(moment))
        case Operator.MORE_THAN_DAYS_AGO:
            assert isinstance(value, int)
            return TimeRange(end=moment.day_start(today - timedelta(days=value)))
        case Operator.DAYS_AGO:
            assert isinstance(value, int)
            day = today - timedelta(days=value)
            return TimeRange(moment.day_start(day), moment.day_start(day + timedelta(days=1)))
        case Operator.EQUALS:
            return TimeRange(_start_of(value, moment), _end_of(value, moment))
        case Operator.GT:
            return TimeRange(start=_end_of(value, moment))
        case Operator.GTE:
            return TimeRange(start=_start_of(value, moment))
        case Operator.LT:
            return TimeRange(end=_start_of(value, moment))
        case Operator.LTE:
            return TimeRange(end=_end_of(value, moment))
        case Operator.BETWEEN:
            assert isinstance(value, tuple)
            low, high = value
            return TimeRange(_start_of(low, moment), _end_of(high, moment))
    raise ValueError(f"{operator} does not select a range of time")


def window(within_last_days: int | None, between: tuple[object, object] | None, moment: Moment) -> TimeRange:
    """The time window of an event condition: the last N days, two dates, or all time."""
    if within_last_days is not None:
        return time_range(Operator.WITHIN_LAST_DAYS, within_last_days, moment)
    if between is not None:
        return time_range(Operator.BETWEEN, between, moment)
    return TimeRange()


def instant_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(INSTANT_TEXT)


def _tomorrow(moment: Moment) -> datetime:
    return moment.day_start(moment.today + timedelta(days=1))


def _start_of(value: object, moment: Moment) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    assert isinstance(value, date)
    return moment.day_start(value)


def _end_of(value: object, moment: Moment) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) + SECOND
    assert isinstance(value, date)
    return moment.day_start(value + timedelta(days=1))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
