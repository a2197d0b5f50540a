"""Five-field cron expressions (minute hour day-of-month month weekday), checked field by field."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {n: i for i, n in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}),
    ("weekday", 0, 7, {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}),
)  # fmt: skip
_STEP = re.compile(r"(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>\d+))?")


class CronError(ValueError):
    pass


def check_cron(expression: str) -> str:
    """The expression, normalised to single spaces, or `CronError` naming the field at fault."""
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(
            f"{expression!r} has {len(parts)} fields; a schedule has 5: minute hour day-of-month month weekday "
            "(for example '0 10 * * mon' is every Monday at 10:00)"
        )
    for part, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            _check_item(item.lower(), name, low, high, names)
    return " ".join(parts)


def _check_item(item: str, name: str, low: int, high: int, names: dict[str, int]) -> None:
    match = _STEP.fullmatch(item)
    if match is None:
        raise CronError(f"the {name} field {item!r} is not a value, a range, a list or a step")
    if match["step"] is not None and int(match["step"]) == 0:
        raise CronError(f"the {name} field {item!r} steps by 0")
    if match["range"] == "*":
        return
    bounds = [_value(text, name, low, high, names) for text in match["range"].split("-")]
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise CronError(f"the {name} range {match['range']!r} runs backwards")


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(text)
    if value is None and text.isdigit():
        value = int(text)
    if value is None or not low <= value <= high:
        raise CronError(f"the {name} {text!r} is out of range; expected {low} to {high}")
    return value


@dataclass(frozen=True)
class CronSchedule:
    """A checked expression as sets of allowed values; weekdays count from Sunday (0; 7 is Sunday too).

    As in cron, when both day of month and weekday are restricted (neither starts with `*`), a day
    that fits either one fits the schedule.
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    either_day: bool

    def fits_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        return by_date or by_weekday if self.either_day else by_date and by_weekday

    def matches(self, moment: datetime) -> bool:
        """Whether the schedule fires in the minute of this wall-clock time."""
        return moment.minute in self.minutes and moment.hour in self.hours and self.fits_day(moment.date())

    def fire_times(self, after: datetime, until: datetime, tz: tzinfo) -> Iterator[datetime]:
        """The moments (UTC) in `(after, until]` when the schedule fires on the wall clock of `tz`, in order."""
        day, last = after.astimezone(tz).date(), until.astimezone(tz).date()
        while day <= last:
            for moment in self._on(day, tz, reverse=False):
                if after < moment <= until:
                    yield moment
            day += timedelta(days=1)

    def last_fire_time(self, after: datetime, until: datetime, tz: tzinfo) -> datetime | None:
        """The latest moment in `(after, until]` when the schedule fires, searched from `until` back."""
        day, first = until.astimezone(tz).date(), after.astimezone(tz).date()
        while day >= first:
            for moment in self._on(day, tz, reverse=True):
                if after < moment <= until:
                    return moment
            day -= timedelta(days=1)
        return None

    def _on(self, day: date, tz: tzinfo, *, reverse: bool) -> Iterator[datetime]:
        if not self.fits_day(day):
            return
        for hour in sorted(self.hours, reverse=reverse):
            for minute in sorted(self.minutes, reverse=reverse):
                local = datetime.combine(day, time(hour, minute), tzinfo=tz)
                moment = local.astimezone(UTC)
                # A wall-clock time skipped by a daylight-saving change does not happen that day.
                if moment.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
                    yield moment


def parse_cron(expression: str) -> CronSchedule:
    """The schedule of a valid expression; `CronError` as `check_cron` for an invalid one."""
    parts = check_cron(expression).lower().split()
    values = [
        frozenset().union(*(_expand(item, low, high, names) for item in part.split(",")))
        for part, (_name, low, high, names) in zip(parts, _FIELDS, strict=True)
    ]
    weekdays = frozenset(day % 7 for day in values[4])
    return CronSchedule(
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=weekdays,
        either_day=not parts[2].startswith("*") and not parts[4].startswith("*"),
    )


def _expand(item: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    match = _STEP.fullmatch(item)
    if match is None:
        raise CronError(f"{item!r} is not a value, a range, a list or a step")
    step = int(match["step"] or 1)
    if match["range"] == "*":
        start, end = low, high
    else:
        bounds = [names.get(text, int(text) if text.isdigit() else low) for text in match["range"].split("-")]
        # `5/15` counts from 5 to the end of the field, as in Vixie cron.
        start, end = bounds[0], bounds[-1] if len(bounds) == 2 or match["step"] is None else high
    return frozenset(range(start, end + 1, step))
