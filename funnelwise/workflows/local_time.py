"""A contact's own timezone and the local date of a stored date, for time-driven triggers and waits."""

from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def contact_zone(name: str | None, default: tzinfo) -> tzinfo:
    """The named timezone, or `default` when there is none or it is unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return default


def local_date(value: Any, tz: tzinfo) -> date | None:
    """The local date of a stored date (`2026-03-01`), date-time or timestamp column value."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz).date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz).date()
