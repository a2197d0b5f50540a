"""The built-in columns of contacts and companies a condition can test, and what each one holds."""

from datetime import date
from enum import StrEnum
from typing import Any

from funnelwise.conditions.operators import NEGATIONS, ORDERING, RELATIVE_DAYS, TEXT_ONLY, Operator


class ColumnKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    TIME = "date-time"


_TEXT = ColumnKind.TEXT
CONTACT_COLUMNS: dict[str, ColumnKind] = {
    **dict.fromkeys(
        ("email", "phone", "user_id", "first_name", "last_name", "job_title", "job_level"), _TEXT
    ),
    **dict.fromkeys(("lifecycle_stage", "timezone", "locale"), _TEXT),
    "owner_id": ColumnKind.NUMBER,
    "company_id": ColumnKind.NUMBER,
    "created_at": ColumnKind.TIME,
    "updated_at": ColumnKind.TIME,
}
COMPANY_COLUMNS: dict[str, ColumnKind] = {
    **dict.fromkeys(("name", "domain", "industry", "size_band"), _TEXT),
    "owner_id": ColumnKind.NUMBER,
}
_ALWAYS = frozenset({Operator.IS_SET})
_OPERATORS = {
    ColumnKind.TEXT: _ALWAYS | {Operator.EQUALS, Operator.IN} | TEXT_ONLY,
    ColumnKind.NUMBER: _ALWAYS | {Operator.EQUALS, Operator.IN} | ORDERING,
    ColumnKind.TIME: _ALWAYS | {Operator.EQUALS, Operator.ANNIVERSARY_TODAY} | ORDERING | RELATIVE_DAYS,
}


def column_mismatch(name: str, kind: ColumnKind, operator: Operator, value: Any) -> str | None:
    """Why a built-in column cannot be compared this way, or None when it can."""
    positive = NEGATIONS.get(operator, operator)
    allowed = _OPERATORS[kind]
    if positive not in allowed:
        names = ", ".join(sorted(o for o in Operator if NEGATIONS.get(o, o) in allowed))
        return f"'{name}' holds {kind}; '{operator}' does not apply (use one of {names})"
    if positive in RELATIVE_DAYS or value is None:
        return None
    for part in value if isinstance(value, tuple) else (value,):
        if _kind_of(part) != kind:
            return f"'{name}' holds {kind}, so it is never compared with {_kind_of(part)} {part!r}"
    return None


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return ColumnKind.TEXT
    if isinstance(value, int | float):
        return ColumnKind.NUMBER
    assert isinstance(value, date)
    return ColumnKind.TIME
