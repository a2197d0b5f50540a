"""The few statements SQLite and PostgreSQL spell differently."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def insert(session: Session, table: Table) -> Any:
    """An INSERT that knows `ON CONFLICT` on the session's database."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def json_merge(session: Session, base: Any, patch: Any) -> ColumnElement[Any]:
    """`base` with the keys of `patch` laid over it (both JSON objects)."""
    if dialect_name(session) == "postgresql":
        return base.op("||")(patch)
    return func.json_patch(base, patch)


def json_canonical(session: Session, value: Any) -> ColumnElement[Any]:
    """A JSON value in a form that compares equal exactly when the documents are equal."""
    if dialect_name(session) == "postgresql":
        return value
    return func.json(value)


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `= ANY(array)`, one parameter however many values.

    A thousand-value IN list is a long statement the driver parses anew every time; an array
    keeps the statement short and cached.
    """
    if dialect_name(session) == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


def plan_for_these_values(session: Session) -> None:
    """On PostgreSQL, plans every statement of this transaction for its own parameters.

    A statement the driver has prepared gets, after five runs, a generic plan that cannot see how
    many values an array holds: for `id = ANY(array)` on a table of a few thousand rows it scans
    and compares every row with every value (300 user ids against 2,000 contacts: 14 ms), where
    a plan made for the values hashes the array (1.2 ms). For the worker's batches, whose arrays
    hold hundreds of ids, planning each time is the cheaper side.
    """
    if dialect_name(session) == "postgresql":
        session.execute(_PLAN_FOR_VALUES)


_PLAN_FOR_VALUES = text("SET LOCAL plan_cache_mode = force_custom_plan")
