"""Lengths of time in a definition, written as `90m`, `1h`, `7d`, `2w` or `1d12h`."""

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"(?:\d+[wdhms])+")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """The length a duration text names; refuses negative and zero lengths with a reason."""
    written = text.strip().replace(" ", "")
    if written.startswith("-"):
        raise DurationError(f"{text!r} is a negative length of time; a wait must be longer than zero")
    if not _WHOLE.fullmatch(written):
        raise DurationError(
            f"{text!r} is not a length of time; write a number and a unit: 30m, 1h, 7d, 2w or 1d12h"
        )
    length = timedelta()
    for amount, unit in _PART.findall(written):
        length += timedelta(**{_UNITS[unit]: int(amount)})
    if length <= timedelta():
        raise DurationError(f"{text!r} is no time at all; a wait must be longer than zero")
    return length
