"""Contact import throughput against a plain batched insert of the same rows, and its peak memory.

    python bench/bench_import.py                          # 200,000 contacts, 3 repeats, both databases
    python bench/bench_import.py --rows 2000 --repeat 1   # what CI runs

For each database and repeat: a fresh, migrated database; the generated CSV imported through the
real import path (`import_contacts`, as `funnelwise import contacts` runs it) in a child process
whose peak RSS is read; then, in another child, the rows the import stored are read back, deleted,
and inserted again with plain batched INSERTs of the same size batches into the same table: once
through SQLAlchemy Core, once through the driver's executemany. Prints rows/s of each, the
import's ratio to both and its peak memory; then the medians.
"""

import argparse
import csv
import json
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchdb import drop_database, fresh_database
from psycopg.types.json import Jsonb
from sqlalchemy import Engine, delete, insert, select

from funnelwise.clock import SystemClock
from funnelwise.config import Settings
from funnelwise.contacts.importer import BATCH_ROWS, ImportOptions, import_contacts
from funnelwise.contacts.models import Contact
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.contacts.property_definitions import create_definition
from funnelwise.contacts.schemas import EnumOptionIn, PropertyDefinitionIn
from funnelwise.context import Context
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.db.migrate import upgrade

SECRET = "bench-secret"
SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ("민수", "서연", "지훈", "하은", "도윤", "수빈", "예준", "지우", "현우", "서윤")
TITLES = ("사원", "대리", "과장", "차장", "부장", "팀장", "이사", "대표", "Marketing Manager", "VP Sales", "")
STAGES = ("subscriber", "lead", "mql", "sql", "customer")
FREE_MAIL = ("gmail.com", "naver.com", "daum.net")


@dataclass(frozen=True)
class Run:
    database: str
    import_rate: float
    core_rate: float
    driver_rate: float
    peak_mb: float

    @property
    def core_ratio(self) -> float:
        return self.import_rate / self.core_rate

    @property
    def driver_ratio(self) -> float:
        return self.import_rate / self.driver_rate


def generate_csv(path: Path, rows: int) -> None:
    """Contacts as a Korean CRM export would hold them: mixed phone formats, business and free mail."""
    rng = random.Random(42)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["이메일", "성명", "휴대폰", "회사", "직함", "고객단계", "plan", "score"])
        for number in range(rows):
            domain = rng.choice(FREE_MAIL) if number % 3 == 0 else f"company{number % 5000}.co.kr"
            middle = f"{number // 10_000:04d}"
            last = f"{number % 10_000:04d}"
            phone = rng.choice((f"010-{middle}-{last}", f"010{middle}{last}", f"+82 10 {middle} {last}"))
            writer.writerow(
                [
                    f"Person.{number}@{domain}",
                    rng.choice(SURNAMES) + rng.choice(GIVEN),
                    phone,
                    f"Company {number % 5000}",
                    rng.choice(TITLES),
                    rng.choice(STAGES),
                    rng.choice(("basic", "pro", "enterprise")),
                    str(rng.randint(0, 100)),
                ]
            )


def _context(url: str) -> Context:
    return Context(Settings(database_url=url, secret_key=SECRET, _env_file=None), SystemClock())


def prepare(url: str) -> None:
    """Migrates the database and defines the custom properties the file carries."""
    ctx = _context(url)
    engine = make_engine(ctx.settings)
    upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        plan = [EnumOptionIn(value=v) for v in ("basic", "pro", "enterprise")]
        create_definition(
            session,
            ctx,
            ObjectType.CONTACT,
            PropertyDefinitionIn(name="plan", label="Plan", type=PropertyType.ENUM, options=plan),
        )
        create_definition(
            session,
            ctx,
            ObjectType.CONTACT,
            PropertyDefinitionIn(name="score", label="Score", type=PropertyType.NUMBER),
        )
    engine.dispose()


def timed_import(url: str, path: str, results: "multiprocessing.Queue[tuple[int, float, float]]") -> None:
    """Child process: the real import; reports rows stored, seconds and peak RSS in MB."""
    ctx = _context(url)
    engine = make_engine(ctx.settings)
    sessions = make_sessionmaker(engine)
    failures: list[object] = []
    started = time.perf_counter()
    with open(path, "rb") as stream:
        summary = import_contacts(sessions, ctx, stream, ImportOptions(), on_error=failures.append)
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"the generated file had {len(failures)} bad rows: {failures[:3]}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put((summary.created, elapsed, peak_mb))


def timed_plain_inserts(url: str, results: "multiprocessing.Queue[tuple[int, float, float]]") -> None:
    """Child process: the stored rows read back, then inserted again twice, timed each time.

    First with SQLAlchemy Core (`connection.execute(insert(table), batch)`), then straight
    through the driver's `executemany` with a hand-written INSERT; batches as the import's.
    """
    engine = make_engine(_context(url).settings)
    table = Contact.__table__
    columns = [c for c in table.c if c.name != "id"]
    with engine.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(select(*columns).order_by(table.c.id))]
    _delete_contacts(engine)
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH_ROWS):
        with engine.begin() as connection:
            connection.execute(insert(table), rows[start : start + BATCH_ROWS])
    core_seconds = time.perf_counter() - started
    _delete_contacts(engine)
    postgres = engine.dialect.name == "postgresql"
    names = [c.name for c in columns]
    marker = "%s" if postgres else "?"
    statement = f"INSERT INTO contacts ({', '.join(names)}) VALUES ({', '.join([marker] * len(names))})"
    tuples = [tuple(_driver_value(row[name], postgres) for name in names) for row in rows]
    started = time.perf_counter()
    for start in range(0, len(tuples), BATCH_ROWS):
        with engine.begin() as connection:
            connection.exec_driver_sql(statement, tuples[start : start + BATCH_ROWS])
    driver_seconds = time.perf_counter() - started
    results.put((len(rows), core_seconds, driver_seconds))


def _delete_contacts(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(delete(Contact.__table__))


def _driver_value(value: object, postgres: bool) -> object:
    if isinstance(value, dict):
        return Jsonb(value) if postgres else json.dumps(value)
    if isinstance(value, datetime) and not postgres:
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return value


def in_child(target: object, *args: object) -> tuple[int, float, float]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=target, args=(*args, results))
    process.start()
    outcome = results.get()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"{getattr(target, '__name__', target)} failed with exit code {process.exitcode}")
    return outcome


def measure(kind: str, csv_path: Path, rows: int, workdir: Path) -> Run:
    url = fresh_database(kind, workdir)
    try:
        prepare(url)
        stored, import_seconds, peak_mb = in_child(timed_import, url, str(csv_path))
        if stored != rows:
            raise SystemExit(f"the import stored {stored} contacts, expected {rows}")
        inserted, core_seconds, driver_seconds = in_child(timed_plain_inserts, url)
        return Run(kind, stored / import_seconds, inserted / core_seconds, inserted / driver_seconds, peak_mb)
    finally:
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "contacts.csv"
        generate_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"{args.rows:,} contacts, {size_mb:.1f} MB of CSV")
        for kind in kinds:
            runs = []
            for number in range(1, args.repeat + 1):
                run = measure(kind, csv_path, args.rows, workdir)
                runs.append(run)
                print(
                    f"{kind:<10} run {number}: import {run.import_rate:>8,.0f} rows/s; plain insert "
                    f"(SQLAlchemy Core) {run.core_rate:>8,.0f} rows/s, ratio {run.core_ratio:.2f}; "
                    f"(driver executemany) {run.driver_rate:>8,.0f} rows/s, ratio {run.driver_ratio:.2f}; "
                    f"import peak RSS {run.peak_mb:.0f} MB",
                    flush=True,
                )
            print(
                f"{kind:<10} median of {len(runs)}: import {_median(runs, 'import_rate'):,.0f} rows/s, "
                f"{_median(runs, 'core_ratio'):.2f} of the Core insert, "
                f"{_median(runs, 'driver_ratio'):.2f} of the driver executemany, "
                f"peak RSS {_median(runs, 'peak_mb'):.0f} MB",
                flush=True,
            )


def _median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(run, attribute) for run in runs)


if __name__ == "__main__":
    sys.exit(main())
