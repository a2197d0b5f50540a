"""Tracking API throughput against a plain batched insert of the same rows, and the time to join a visitor.

    python bench/bench_ingest.py                          # 1,000,000 events, 3 repeats, both databases
    python bench/bench_ingest.py --events 100000 --repeat 3
    python bench/bench_ingest.py --rows 2000 --repeat 1   # what CI runs (--rows is --events)

For each database and repeat: a fresh database (a temporary SQLite file served by one `funnelwise
serve`; a fresh PostgreSQL database, migrated by `funnelwise db upgrade`, served by two `funnelwise
serve` processes on two ports); a source made by `funnelwise source create`; then --clients threads
post the events to /v1/batch, 100 a call, round-robin over the servers. The mix is what a website
and an app send: page views and tracks from a pool of anonymous visitors and of signed-in users,
screens, and identify calls that join visitors to users. Prints events/s and the p99 latency of a
batch call. Then the events stored are read back, deleted and inserted again with SQLAlchemy Core
executemany into the same table, in transactions of 100 and of 1,000 rows, and the API's rate is
given as a ratio to both. Last, a visitor's 10,000 anonymous events are sent and one identify call
that joins them to a contact is timed. Medians over --repeat close each database's figures.
"""

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from benchdb import drop_database, fresh_database
from sqlalchemy import Engine, delete, func, insert, select

from funnelwise.config import Settings
from funnelwise.db.engine import make_engine
from funnelwise.tracking.models import Event, IntakeMessage

SECRET = "bench-secret"
BATCH = 100
JOIN_VISITOR = "bench-visitor-to-join"
START = datetime(2026, 11, 1, tzinfo=UTC)
PAGES = ("/", "/pricing", "/features", "/blog/crm-guide", "/customers", "/signup")
REFERRERS = (
    "https://search.naver.com/search.naver?query=crm",
    "https://www.google.com/",
    "https://blog.naver.com/marketer/223",
    "https://search.daum.net/search?q=crm",
    "",  # typed in, or a bookmark
)
CAMPAIGNS = (
    {},
    {},
    {"source": "naver", "medium": "cpc", "name": "winter"},
    {"source": "kakao", "medium": "social"},
)
EVENTS = ("Product Viewed", "Added to Cart", "Article Read", "Video Played")
SITE = "https://shop.example.co.kr"


@dataclass(frozen=True)
class Run:
    database: str
    events: int
    ingest_rate: float
    logged_rate: float
    p99_ms: float
    core100_rate: float
    core1000_rate: float
    join_seconds: float

    @property
    def ratio100(self) -> float:
        return self.ingest_rate / self.core100_rate

    @property
    def ratio1000(self) -> float:
        return self.ingest_rate / self.core1000_rate

    @property
    def logged_ratio100(self) -> float:
        return self.logged_rate / self.core100_rate


# ----- the events -----


def generate_batches(events: int, seed: int) -> list[bytes]:
    """The bodies of the /v1/batch calls: a realistic mix, serialised before the clock starts."""
    rng = random.Random(seed)
    visitors = [f"anon-{seed}-{n}" for n in range(max(events // 20, 10))]
    users = [f"user-{seed}-{n}" for n in range(max(events // 50, 5))]
    bodies = []
    for start in range(0, events, BATCH):
        batch = [_message(rng, visitors, users) for _ in range(min(BATCH, events - start))]
        bodies.append(json.dumps({"batch": batch, "sentAt": START.isoformat()}).encode())
    return bodies


def _message(rng: random.Random, visitors: list[str], users: list[str]) -> dict[str, Any]:
    roll = rng.random()
    number = rng.randrange(len(visitors))
    user = users[number % len(users)]
    # Two visitors in five are signed in: their calls carry the user id of that device's owner.
    who: dict[str, Any] = {"anonymousId": visitors[number]}
    if number % 5 < 2:
        who["userId"] = user
    context: dict[str, Any] = {
        "ip": f"211.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15",
        "locale": "ko-KR",
        "timezone": "Asia/Seoul",
    }
    common = {
        "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
        "timestamp": (START - timedelta(seconds=rng.randint(1, 86_400))).isoformat(),
        "context": context,
    }
    if roll < 0.35:
        url = f"{SITE}{rng.choice(PAGES)}"
        # One page view in five lands from elsewhere; the rest move around the site.
        if rng.random() < 0.2:
            context["page"] = {"url": url, "referrer": rng.choice(REFERRERS), "title": "Example Shop"}
            if campaign := rng.choice(CAMPAIGNS):
                context["campaign"] = campaign
        else:
            context["page"] = {"url": url, "referrer": f"{SITE}{rng.choice(PAGES)}", "title": "Example Shop"}
        return {"type": "page", "name": "Shop", **who, **common}
    if roll < 0.45:
        return {"type": "screen", "name": rng.choice(("Home", "Cart", "Settings")), **who, **common}
    if roll < 0.5:
        company = int(user.rsplit("-", 1)[1]) % 500
        traits = {"email": f"{user}@customer{company}.co.kr", "name": "김민수", "plan": "pro"}
        return {
            "type": "identify",
            "userId": user,
            "anonymousId": visitors[number],
            "traits": traits,
            **common,
        }
    properties = {
        "product_id": f"P-{rng.randint(1, 5000)}",
        "price": rng.randint(1, 500) * 1000,
        "currency": "KRW",
        "category": rng.choice(("shoes", "bags", "outdoor")),
        "quantity": rng.randint(1, 3),
    }
    return {"type": "track", "event": rng.choice(EVENTS), "properties": properties, **who, **common}


# ----- databases and servers -----


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "FUNNELWISE_DATABASE_URL": url, "FUNNELWISE_SECRET_KEY": SECRET}


def funnelwise(url: str, workdir: Path, *args: str) -> str:
    """Runs the `funnelwise` command on the database and returns what it printed."""
    done = subprocess.run(
        ["funnelwise", *args], env=_env(url), cwd=workdir, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"funnelwise {' '.join(args)} failed: {done.stderr}")
    return done.stdout


@contextmanager
def servers(url: str, workdir: Path, count: int) -> Iterator[list[str]]:
    """`count` real `funnelwise serve` processes on the database; their base URLs."""
    ports = [_free_port() for _ in range(count)]
    processes = [
        subprocess.Popen(
            ["funnelwise", "serve", "--port", str(port)],
            env=_env(url),
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base, process in zip(bases, processes, strict=True):
            _wait_until_up(base, process)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"funnelwise serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"funnelwise serve at {base} did not start")


# ----- the measurements -----


def send_all(
    bases: list[str], write_key: str, bodies: list[bytes], clients: int
) -> tuple[float, list[float]]:
    """Posts every body with `clients` threads; seconds taken and each call's latency."""
    latencies: list[float] = []
    failures: list[str] = []
    next_body = iter(range(len(bodies)))
    lock = threading.Lock()

    def client(number: int) -> None:
        base = bases[number % len(bases)]
        mine: list[float] = []
        headers = {"content-type": "application/json"}
        with httpx.Client(base_url=base, auth=(write_key, ""), timeout=120) as http:
            while True:
                with lock:
                    index = next(next_body, None)
                if index is None:
                    break
                started = time.perf_counter()
                answer = http.post("/v1/batch", content=bodies[index], headers=headers)
                mine.append(time.perf_counter() - started)
                if answer.status_code != 200 or answer.json() != {"success": True}:
                    failures.append(f"{answer.status_code} {answer.text[:300]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} batch calls failed, the first: {failures[0]}")
    return elapsed, latencies


def time_join(bases: list[str], write_key: str, engine: Engine, events: int, clients: int) -> float:
    """Sends one visitor's anonymous events, then times the identify call that joins them."""
    bodies = []
    for start in range(0, events, BATCH):
        batch = [
            {"type": "track", "event": "Article Read", "anonymousId": JOIN_VISITOR, "messageId": f"join-{n}"}
            for n in range(start, min(start + BATCH, events))
        ]
        bodies.append(json.dumps({"batch": batch}).encode())
    send_all(bases, write_key, bodies, clients)
    wait_until_logged(engine, 0)
    identify = {
        "userId": "bench-joiner",
        "anonymousId": JOIN_VISITOR,
        "traits": {"email": "joiner@example.co.kr"},
    }
    joined = select(func.count()).where(
        Event.anonymous_id == JOIN_VISITOR, Event.type == "track", Event.contact_id.is_not(None)
    )
    with httpx.Client(base_url=bases[0], auth=(write_key, ""), timeout=120) as http:
        started = time.perf_counter()
        answer = http.post("/v1/identify", json=identify)
        if answer.status_code != 200:
            raise SystemExit(f"the joining identify failed: {answer.status_code} {answer.text}")
        # Accepted at once; the join is done when the worker has moved every event to the contact.
        while True:
            with engine.connect() as connection:
                if connection.scalar(joined) == events:
                    break
            if time.perf_counter() - started > 120:
                raise SystemExit("the visitor's events were not joined within 120 s")
            time.sleep(0.005)
    return time.perf_counter() - started


def plain_insert_rate(engine: Engine, batch: int) -> float:
    """The stored events read back, deleted and inserted again, `batch` rows a transaction; rows/s.

    A chunk at a time, so a million events never sit in memory at once; only the inserts are timed.
    """
    table = Event.__table__
    columns = [c for c in table.c if c.name != "id"]
    chunk = 50_000
    seconds = 0.0
    total = 0
    with engine.connect() as connection:
        last = connection.scalar(select(func.max(table.c.id))) or 0
    low = 0
    while low <= last:
        high = low + chunk
        window = (table.c.id >= low) & (table.c.id < high)
        with engine.begin() as connection:
            rows = [dict(row._mapping) for row in connection.execute(select(*columns).where(window))]
            connection.execute(delete(table).where(window))
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            with engine.begin() as connection:
                connection.execute(insert(table), rows[start : start + batch])
        seconds += time.perf_counter() - started
        total += len(rows)
        low = high
    return total / seconds


def stored_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Event.__table__)) or 0


def wait_until_logged(engine: Engine, events: int, timeout: float = 3600) -> float:
    """Seconds until the servers' workers have resolved every accepted message into the log."""
    started = time.perf_counter()
    while _waiting(engine) or stored_count(engine) < events:
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"only {stored_count(engine)} of {events} events logged after {timeout:.0f} s")
        time.sleep(0.05)
    return time.perf_counter() - started


def _waiting(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(IntakeMessage.__table__)) or 0


def measure(kind: str, args: argparse.Namespace, bodies: list[bytes], workdir: Path) -> Run:
    url = fresh_database(kind, workdir)
    try:
        if kind == "postgresql":
            funnelwise(url, workdir, "db", "upgrade")
        write_key = funnelwise(url, workdir, "source", "create", "--name", "bench").strip()
        # Configured as the servers' engine is (WAL and synchronous=NORMAL on SQLite).
        engine = make_engine(Settings(database_url=url, secret_key=SECRET, _env_file=None))
        try:
            with servers(url, workdir, 1 if kind == "sqlite" else 2) as bases:
                seconds, latencies = send_all(bases, write_key, bodies, args.clients)
                lag = wait_until_logged(engine, args.events)
                stored = stored_count(engine)
                if stored != args.events:
                    raise SystemExit(f"{stored} events stored, {args.events} sent")
                join_seconds = time_join(bases, write_key, engine, args.join_events, args.clients)
            core100 = plain_insert_rate(engine, 100)
            core1000 = plain_insert_rate(engine, 1000)
        finally:
            engine.dispose()
        p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else latencies[0]
        return Run(
            kind,
            args.events,
            args.events / seconds,
            args.events / (seconds + lag),
            p99 * 1000,
            core100,
            core1000,
            join_seconds,
        )
    finally:
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", "--rows", dest="events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients [default: 8]")
    parser.add_argument("--join-events", type=int, default=10_000, help="the joined visitor's events")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    bodies = generate_batches(args.events, seed=1)
    megabytes = sum(len(b) for b in bodies) / 1e6
    print(
        f"{args.events:,} events in {len(bodies):,} batches of {BATCH} ({megabytes:.0f} MB), {args.clients} clients"
    )
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        for kind in kinds:
            runs = []
            for number in range(1, args.repeat + 1):
                run = measure(kind, args, bodies, Path(tmp))
                runs.append(run)
                print(
                    f"{kind:<10} run {number}: API {run.ingest_rate:>7,.0f} events/s, p99 batch {run.p99_ms:.0f} ms, "
                    f"all logged {run.logged_rate:>7,.0f} events/s (ratio {run.logged_ratio100:.2f}); "
                    f"plain insert (Core) x100 {run.core100_rate:>7,.0f} rows/s, ratio {run.ratio100:.2f}; "
                    f"x1000 {run.core1000_rate:>7,.0f} rows/s, ratio {run.ratio1000:.2f}; "
                    f"join of {args.join_events:,} events {run.join_seconds * 1000:.0f} ms",
                    flush=True,
                )
            print(
                f"{kind:<10} median of {len(runs)}: API {_median(runs, 'ingest_rate'):,.0f} events/s, "
                f"p99 batch {_median(runs, 'p99_ms'):.0f} ms, "
                f"all logged {_median(runs, 'logged_rate'):,.0f} events/s ({_median(runs, 'logged_ratio100'):.2f}), "
                f"{_median(runs, 'ratio100'):.2f} of the Core insert x100, "
                f"{_median(runs, 'ratio1000'):.2f} of the Core insert x1000, "
                f"join {_median(runs, 'join_seconds') * 1000:.0f} ms",
                flush=True,
            )


def _median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(run, attribute) for run in runs)


if __name__ == "__main__":
    sys.exit(main())
