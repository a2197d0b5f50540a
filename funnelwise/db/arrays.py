"""Many rows into PostgreSQL as one array per column: `unnest` turns them back into rows.

One statement with a parameter per column, whatever the number of rows: no statement per row,
and none of the temporary table COPY staging needs (whose create and drop cost more than the
rows themselves for a batch of a few hundred).
"""

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from funnelwise.db.staging import adapt


def update_by_id(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Sets each row's columns on the row of `target` with its `id`; every row has the same keys."""
    names = [name for name in rows[0] if name != "id"]
    assignments = ", ".join(f"{name} = v.{name}" for name in names)
    statement = (
        f"UPDATE {target.name} AS t SET {assignments} "
        f"FROM {_unnest(target, ['id', *names])} WHERE t.id = v.id"
    )
    session.execute(text(statement), _arrays(["id", *names], rows))


def insert_ignoring(session: Session, target: Table, rows: Sequence[dict[str, Any]], key: str) -> None:
    """Inserts the rows, skipping any whose `key` is taken; every row has the same keys."""
    names = list(rows[0])
    statement = (
        f"INSERT INTO {target.name} ({', '.join(names)}) SELECT * FROM {_unnest(target, names)} "
        f"ON CONFLICT ({key}) DO NOTHING"
    )
    session.execute(text(statement), _arrays(names, rows))


def _unnest(target: Table, names: list[str]) -> str:
    columns = ", ".join(f"CAST(:{name} AS {_array_type(target, name)})" for name in names)
    return f"unnest({columns}) AS v({', '.join(names)})"


@cache
def _type_name(target: Table, name: str) -> str:
    return target.c[name].type.compile(dialect=postgresql.dialect())


def _array_type(target: Table, name: str) -> str:
    return f"{_type_name(target, name)}[]"


def _arrays(names: list[str], rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [adapt(row[name]) for row in rows] for name in names}
