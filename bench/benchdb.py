"""Fresh databases for the benchmarks: a temporary SQLite file, or a new PostgreSQL database."""

import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, make_url

POSTGRES_ADMIN_URL = os.environ.get(
    "FUNNELWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
    name = f"fw_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    with psycopg.connect(libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


def libpq(url: str) -> str:
    """The URL as libpq reads it (psycopg's own connect, without SQLAlchemy's driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def bulk_load(engine: Engine, tables: list[tuple[str, str, Any]]) -> None:
    """Loads (table, "col, col, …", rows) in order, in one transaction, by the fastest driver path."""
    connection = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            _copy(connection, tables)
        else:
            _executemany(connection, tables)
        connection.commit()
    finally:
        connection.close()


def sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The row as SQLite stores it: datetimes as UTCDateTime's text, naive UTC with microseconds."""
    return tuple(
        v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in row
    )


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def _copy(connection: Any, tables: list[tuple[str, str, Any]]) -> None:
    with connection.cursor() as cursor:
        for table, columns, rows in tables:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if columns.startswith("id,"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        cursor.execute("ANALYZE")


def _executemany(connection: Any, tables: list[tuple[str, str, Any]]) -> None:
    cursor = connection.cursor()
    # The raw driver connection commits every statement unless a transaction is begun.
    cursor.execute("BEGIN")
    for table, columns, rows in tables:
        marks = ", ".join("?" for _ in columns.split(","))
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", (sqlite_row(row) for row in rows)
        )
    cursor.execute("ANALYZE")
