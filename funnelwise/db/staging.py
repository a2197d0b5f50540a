"""Many rows into PostgreSQL with COPY: straight into a table, or staged so one INSERT … SELECT
can upsert them in the database."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Column, MetaData, Table, TableClause, column, table
from sqlalchemy.orm import Session


@contextmanager
def staged(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> Iterator[TableClause]:
    """A temporary table shaped like `target` (the columns the rows hold) and filled by COPY.

    COPY streams rows without a statement per row or a statement as long as the batch; the
    temporary table lives in the session's transaction and is dropped on the way out.
    """
    names = list(rows[0])
    stage = Table(
        f"staging_{target.name}",
        MetaData(),
        *(Column(name, target.c[name].type) for name in names),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    connection = session.connection()
    stage.create(connection)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(stage.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([adapt(row[name]) for name in names])
    # Statements read it through a plain table clause: its cache key is its name and columns, so
    # every batch reuses one compiled statement instead of caching a new one per Table object.
    yield table(stage.name, *(column(name, target.c[name].type) for name in names))
    # Only on success: after an error the caller's savepoint rollback takes the table with it.
    stage.drop(connection)


def copy_rows(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Appends the rows to `target` with COPY: one stream, no statement per row and none to parse.

    For rows that cannot clash with a unique key; a clash fails the whole COPY.
    """
    names = list(rows[0])
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(target.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([adapt(row[name]) for name in names])


def adapt(value: Any) -> Any:
    """A value as psycopg sends it: JSON documents wrapped for jsonb."""
    return Jsonb(value) if isinstance(value, dict | list) else value
