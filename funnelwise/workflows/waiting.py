"""When a `wait_until` ends: the next moment, in the contact's timezone, that fits the step."""

from datetime import date, datetime, time, timedelta, tzinfo

from funnelwise.workflows.definition import WaitUntilStep

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def wait_until_moment(step: WaitUntilStep, entered: datetime, tz: tzinfo, on_date: date | None) -> datetime:
    """The first moment at or after `entered` on `on_date` (when given), a listed weekday and `time`.

    Without a time, the wait ends at the start of a fitting day, or at once on a fitting day.
    A date that has passed ends the wait at once.
    """
    local = entered.astimezone(tz)
    at = time.fromisoformat(step.time) if step.time else None
    allowed = {_WEEKDAYS.index(day) for day in step.weekdays} or set(range(7))
    if on_date is not None:
        if on_date < local.date():
            return entered
        candidate = _at(on_date, at, tz)
        return max(candidate, entered)
    day = local.date()
    for _ in range(8):
        if day.weekday() in allowed:
            candidate = _at(day, at, tz)
            if at is None and day == local.date():
                return entered
            if candidate >= entered:
                return candidate
        day += timedelta(days=1)
    raise AssertionError("every week has each weekday")


def _at(day: date, at: time | None, tz: tzinfo) -> datetime:
    return datetime.combine(day, at or time(0), tzinfo=tz)
