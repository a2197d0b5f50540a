"""Five-field cron expressions (minute hour day-of-month month weekday), checked field by field."""

import re

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
