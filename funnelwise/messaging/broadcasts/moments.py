"""A stored moment plus some seconds, inside SQL, on both databases."""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, String, cast, func, literal
from sqlalchemy.orm import Session

from funnelwise.db.dialect import dialect_name


def plus_seconds(session: Session, moment: Any, seconds: Any) -> ColumnElement[datetime]:
    """`moment + seconds` as a value a timestamp column stores and compares like its own."""
    if dialect_name(session) == "postgresql":
        return moment + func.make_interval(0, 0, 0, 0, 0, 0, cast(seconds, Float))
    # SQLite keeps timestamps as text, 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime gives milliseconds,
    # padded back to six digits so the result sorts among stored values as the moment it is.
    shift = literal("+") + cast(cast(seconds, Float), String) + literal(" seconds")
    return func.strftime("%Y-%m-%d %H:%M:%f", moment, shift) + literal("000")
