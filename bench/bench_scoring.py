"""A full rescore against a hand-written SQL aggregate of the same scores, and the upkeep of one event.

    python bench/bench_scoring.py                          # 1,000,000 contacts, 10,000,000 events
    python bench/bench_scoring.py --rows 2000 --repeat 1   # what CI runs

For each database (a temporary SQLite file, a fresh PostgreSQL database): companies, contacts with
10 events each, loaded by executemany (SQLite) or COPY (PostgreSQL), and a score model of 20 rules
(8 on properties, 12 on events, 4 of them with a limit per period; decay with a 30-day half-life;
a cap). Then:

1. A full rescore: the set-based statement that fills a new version (`INSERT … SELECT` into
   `contact_scores`, per-rule parts as JSON included) against a hand-written aggregate computing
   every contact's score into a scratch table, in the same run; both must give the same scores.
   Prints each run, the median of each and their ratio, and beside it the whole `run_rescore`
   (fill, `Score Changed` events for every contact whose score differs, switch).
2. The upkeep of one incoming event: for sampled contacts, an event is stored and `update_scores`
   re-scores the contact in memory and commits; prints the median and p95.
"""

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchdb import bulk_load, drop_database, fresh_database, timed
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.db.migrate import upgrade
from funnelwise.scoring.models import ContactScore, ScoreModel, ScoreModelVersion
from funnelwise.scoring.rescore import fill_version, run_rescore
from funnelwise.scoring.rules import read_definition
from funnelwise.scoring.service import create_model
from funnelwise.scoring.service import new_version as versioned
from funnelwise.scoring.upkeep import scoring_of_version, update_scores
from funnelwise.tracking.models import Event

SECRET = "bench-secret-key-for-scoring-only"
NOW = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
EVENTS_PER_CONTACT = 10
UPKEEP_SAMPLES = 200
LEVELS = ("staff", "manager", "head", "executive", "ceo", None)
BANDS = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000")
INDUSTRIES = ("software", "finance", "retail", "manufacturing")
HALF_LIFE_DAYS = 30
CAP = 100


def _event(name: str, **where: Any) -> dict[str, Any]:
    tests = [
        {"property": key, "operator": operator, "value": value} for key, (operator, value) in where.items()
    ]
    return {"event": name, "where": tests} if tests else {"event": name}


MODEL: dict[str, Any] = {
    "name": "bench",
    "half_life_days": HALF_LIFE_DAYS,
    "cap": CAP,
    "grades": {"scale": "number", "thresholds": {"4": 40, "3": 20, "2": 10}},
    "rules": [
        {"name": "staff", "points": 1, "condition": {"property": "job_level", "operator": "equals", "value": "staff"}},
        {"name": "manager", "points": 2, "condition": {"property": "job_level", "operator": "equals", "value": "manager"}},
        {"name": "head", "points": 3, "condition": {"property": "job_level", "operator": "equals", "value": "head"}},
        {"name": "executive", "points": 4,
         "condition": {"property": "job_level", "operator": "in", "value": ["executive", "ceo"]}},
        {"name": "mid-size company", "points": 2,
         "condition": {"company": "size_band", "operator": "in", "value": ["51-200", "201-500"]}},
        {"name": "large company", "points": 3,
         "condition": {"company": "size_band", "operator": "in", "value": ["501-1000", "1001-5000"]}},
        {"name": "software", "points": 2, "condition": {"company": "industry", "operator": "equals", "value": "software"}},
        {"name": "timeline", "points": 3,
         "condition": {"property": "timeline", "operator": "equals", "value": "this quarter"}},
        {"name": "page visit", "points": 1, "condition": _event("Page Viewed"), "limit": {"points": 10, "per_days": 30}},
        {"name": "pricing visit", "points": 2, "condition": _event("Page Viewed", path=("starts_with", "/pricing")),
         "limit": {"points": 6, "per_days": 30}},
        {"name": "blog visit", "points": 0.5, "condition": _event("Page Viewed", path=("starts_with", "/blog")),
         "limit": {"points": 2, "per_days": 30}},
        {"name": "long read", "points": 1, "condition": _event("Page Engaged", seconds=("equals", 60))},
        {"name": "profile download", "points": 2,
         "condition": _event("File Downloaded", file_name=("contains", "company-profile"))},
        {"name": "newsletter opened", "points": 1, "condition": _event("Email Opened", campaign=("starts_with", "newsletter"))},
        {"name": "email clicked", "points": 1, "condition": _event("Email Clicked"), "limit": {"points": 3, "per_days": 7}},
        {"name": "meeting", "points": 2, "condition": _event("Meeting Booked")},
        {"name": "webinar", "points": 3, "condition": _event("Webinar Attended")},
        {"name": "unsubscribed", "points": -10, "condition": _event("Unsubscribed")},
        {"name": "form submitted", "points": 5, "condition": _event("Form Submitted")},
        {"name": "demo requested", "points": 8, "condition": _event("Demo Requested")},
    ],
}  # fmt: skip

# The same scores, written by hand: property points from the contact row and its company, plus
# every scored event weighted by 2^((seconds - reference) / (86400 * half-life)), the limited rules
# by their row number within the rule's period. The score now is that, decayed to now, capped.
_HAND_WRITTEN = """
INSERT INTO bench_scores (contact_id, score)
SELECT c.id, min_of(:cap,
    (CASE WHEN lower(c.job_level) = 'staff' THEN 1 ELSE 0 END)
  + (CASE WHEN lower(c.job_level) = 'manager' THEN 2 ELSE 0 END)
  + (CASE WHEN lower(c.job_level) = 'head' THEN 3 ELSE 0 END)
  + (CASE WHEN lower(c.job_level) IN ('executive', 'ceo') THEN 4 ELSE 0 END)
  + (CASE WHEN co.size_band IN ('51-200', '201-500') THEN 2 ELSE 0 END)
  + (CASE WHEN co.size_band IN ('501-1000', '1001-5000') THEN 3 ELSE 0 END)
  + (CASE WHEN lower(co.industry) = 'software' THEN 2 ELSE 0 END)
  + (CASE WHEN lower({timeline}) = 'this quarter' THEN 3 ELSE 0 END)
  + coalesce(e.level, 0) * :decay)
FROM contacts c
LEFT JOIN companies co ON co.id = c.company_id
LEFT JOIN (
  SELECT contact_id, sum(w * (
      CASE name
        WHEN 'Page Engaged' THEN CASE WHEN {seconds} = 60 THEN 1 ELSE 0 END
        WHEN 'File Downloaded' THEN CASE WHEN {file_name} LIKE '%company-profile%' THEN 2 ELSE 0 END
        WHEN 'Email Opened' THEN CASE WHEN {campaign} LIKE 'newsletter%' THEN 1 ELSE 0 END
        WHEN 'Meeting Booked' THEN 2
        WHEN 'Webinar Attended' THEN 3
        WHEN 'Unsubscribed' THEN -10
        WHEN 'Form Submitted' THEN 5
        WHEN 'Demo Requested' THEN 8
        WHEN 'Email Clicked' THEN CASE WHEN clicks <= 3 THEN 1 ELSE 0 END
        WHEN 'Page Viewed' THEN
            (CASE WHEN visits <= 10 THEN 1 ELSE 0 END)
          + (CASE WHEN pricing AND pricing_visits <= 3 THEN 2 ELSE 0 END)
          + (CASE WHEN blog AND blog_visits <= 4 THEN 0.5 ELSE 0 END)
        ELSE 0
      END)) AS level
  FROM (
    SELECT contact_id, name, properties, {weight} AS w,
      row_number() OVER (PARTITION BY contact_id, name, {seconds_of} / 2592000 ORDER BY occurred_at, id) AS visits,
      row_number() OVER (PARTITION BY contact_id, name, {seconds_of} / 604800 ORDER BY occurred_at, id) AS clicks,
      {pricing} AS pricing, {blog} AS blog,
      row_number() OVER (PARTITION BY contact_id, name, {pricing}, {seconds_of} / 2592000
                         ORDER BY occurred_at, id) AS pricing_visits,
      row_number() OVER (PARTITION BY contact_id, name, {blog}, {seconds_of} / 2592000
                         ORDER BY occurred_at, id) AS blog_visits
    FROM events
    WHERE contact_id IS NOT NULL AND name IN ('Page Viewed', 'Page Engaged', 'File Downloaded', 'Email Opened',
      'Email Clicked', 'Meeting Booked', 'Webinar Attended', 'Unsubscribed', 'Form Submitted', 'Demo Requested')
  ) scored
  GROUP BY contact_id
) e ON e.contact_id = c.id
"""
_SPELLING = {
    "postgresql": {
        "timeline": "c.properties ->> 'timeline'",
        "seconds": "(properties ->> 'seconds')::numeric",
        "file_name": "lower(properties ->> 'file_name')",
        "campaign": "lower(properties ->> 'campaign')",
        "seconds_of": "floor(extract(epoch FROM occurred_at))::bigint",
        "weight": "power(2.0, (floor(extract(epoch FROM occurred_at))::bigint - :reference) / :denominator)",
        "pricing": "(lower(properties ->> 'path') LIKE '/pricing%')",
        "blog": "(lower(properties ->> 'path') LIKE '/blog%')",
        "min_of": "least",
    },
    "sqlite": {
        "timeline": "json_extract(c.properties, '$.timeline')",
        "seconds": "json_extract(properties, '$.seconds')",
        "file_name": "lower(json_extract(properties, '$.file_name'))",
        "campaign": "lower(json_extract(properties, '$.campaign'))",
        "seconds_of": "CAST(strftime('%s', occurred_at) AS INTEGER)",
        "weight": "power(2.0, (CAST(strftime('%s', occurred_at) AS INTEGER) - :reference) / :denominator)",
        "pricing": "(lower(json_extract(properties, '$.path')) LIKE '/pricing%')",
        "blog": "(lower(json_extract(properties, '$.path')) LIKE '/blog%')",
        "min_of": "min",
    },
}


def hand_written(dialect: str) -> str:
    spelling = _SPELLING[dialect]
    sql = _HAND_WRITTEN.replace("min_of(", f"{spelling['min_of']}(")
    return sql.format(**spelling)


def load(engine: Engine, rows: int) -> None:
    """Companies, contacts with 10 events each, by the driver's bulk paths."""
    rng = random.Random(42)
    companies = max(1, rows // 50)
    company_rows = [
        (i, f"Company {i}", f"company{i}.example", BANDS[i % 6], INDUSTRIES[i % 4], "{}", NOW, NOW)
        for i in range(1, companies + 1)
    ]
    contact_rows = (
        (
            i,
            f"person{i}@example.org",
            rng.choice(LEVELS),
            1 + i % companies if i % 7 else None,
            json.dumps({"timeline": rng.choice(("this quarter", "next year"))}),
            NOW,
            NOW,
        )
        for i in range(1, rows + 1)
    )
    tables = [
        ("companies", "id, name, domain, size_band, industry, properties, created_at, updated_at", company_rows),
        ("contacts", "id, email, job_level, company_id, properties, created_at, updated_at", contact_rows),
        ("events", "id, message_id, contact_id, type, name, properties, context, occurred_at, received_at", _events(rows, rng)),
    ]  # fmt: skip
    bulk_load(engine, tables)


_KINDS = [
    (40, "Page Viewed"), (15, "Page Engaged"), (8, "File Downloaded"), (12, "Email Opened"), (8, "Email Clicked"),
    (3, "Meeting Booked"), (3, "Webinar Attended"), (2, "Unsubscribed"), (5, "Form Submitted"),
    (2, "Demo Requested"), (2, "Page Left"),
]  # fmt: skip
_NAMES = [name for weight, name in _KINDS for _ in range(weight)]


def _properties(name: str, rng: random.Random) -> dict[str, Any]:
    match name:
        case "Page Viewed":
            return {"path": rng.choice(("/", "/pricing", "/pricing/teams", "/blog/scoring", "/about"))}
        case "Page Engaged":
            return {"seconds": rng.choice((15, 30, 60))}
        case "File Downloaded":
            return {"file_name": rng.choice(("company-profile.pdf", "price-list.pdf"))}
        case "Email Opened":
            return {"campaign": rng.choice(("newsletter-2026-11", "black-friday"))}
    return {}


def _events(rows: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    number = 0
    for contact_id in range(1, rows + 1):
        for _ in range(EVENTS_PER_CONTACT):
            number += 1
            at = NOW - timedelta(seconds=rng.randrange(180 * 86_400))
            name = rng.choice(_NAMES)
            properties = json.dumps(_properties(name, rng))
            yield number, f"bench-{number}", contact_id, "track", name, properties, "{}", at, at


def new_version(session: Session, ctx: Context) -> int:
    """A version of the bench model to fill: the model is created once, then re-versioned."""
    model_id = session.scalar(select(ScoreModel.id).where(ScoreModel.name == "bench"))
    if model_id is None:
        saved = create_model(session, ctx, read_definition(MODEL), allow_unknown=True)
        assert saved.model.building is not None
        return saved.model.building.id
    return versioned(session, ctx, model_id).id


def compare(engine: Engine, ctx: Context) -> tuple[float, float, float, int]:
    """Seconds of the fill, of the hand-written aggregate and of a whole rescore; contacts scored."""
    sessions = make_sessionmaker(engine)
    dialect = engine.dialect.name
    with sessions.begin() as session:
        version_id = new_version(session, ctx)
    with sessions.begin() as session:
        version = session.get_one(ScoreModelVersion, version_id)
        scoring = scoring_of_version(version)
        fill_seconds, _ = timed(lambda: fill_version(session, ctx, version_id, scoring, NOW, None))
        scored = session.scalar(select(func.count()).where(ContactScore.version_id == version_id)) or 0
    with sessions.begin() as session:
        session.execute(text("DROP TABLE IF EXISTS bench_scores"))
        session.execute(
            text("CREATE TABLE bench_scores (contact_id BIGINT PRIMARY KEY, score DOUBLE PRECISION)")
        )
    reference = int(scoring.reference_at.timestamp())
    decay = 2.0 ** ((reference - NOW.timestamp()) / (86_400 * HALF_LIFE_DAYS))
    parameters = {
        "cap": CAP,
        "decay": decay,
        "reference": reference,
        "denominator": 86_400.0 * HALF_LIFE_DAYS,
    }
    with sessions.begin() as session:
        if dialect == "postgresql":
            session.execute(text("SET LOCAL jit = off"))  # as the rescore runs
        hand_seconds, _ = timed(lambda: session.execute(text(hand_written(dialect)), parameters))
    _check_same(sessions, version_id, decay)
    # The whole job on a fresh version (the one filled above is superseded and dropped): fill,
    # Score Changed events for every contact whose score differs from the current version, switch.
    with sessions.begin() as session:
        whole_id = new_version(session, ctx)
    whole_seconds, _ = timed(lambda: run_rescore(sessions, ctx, whole_id, chunk=10**12))
    return fill_seconds, hand_seconds, whole_seconds, scored


def _check_same(sessions: Any, version_id: int, decay: float) -> None:
    with sessions() as session:
        rows = session.execute(
            text(
                "SELECT b.contact_id, b.score, s.fixed, s.level FROM bench_scores b "
                "LEFT JOIN contact_scores s ON s.contact_id = b.contact_id AND s.version_id = :version"
            ),
            {"version": version_id},
        ).all()
    wrong = [
        row
        for row in rows
        if abs(row.score - min(CAP, (row.fixed or 0.0) + (row.level or 0.0) * decay))
        > 1e-6 * max(1.0, abs(row.score))
    ]
    if wrong:
        raise SystemExit(
            f"{len(wrong):,} of {len(rows):,} scores differ from the hand-written ones, e.g. {wrong[:3]}"
        )


def upkeep(engine: Engine, ctx: Context, rows: int) -> list[float]:
    """Seconds per incoming event: store it, then `update_scores` for its contact and commit."""
    sessions = make_sessionmaker(engine)
    rng = random.Random(7)
    seconds = []
    for sample in range(UPKEEP_SAMPLES):
        contact_id = rng.randrange(1, rows + 1)
        name = rng.choice(_NAMES)
        with sessions.begin() as session:
            session.execute(insert(Event), [{"message_id": f"upkeep-{time.time_ns()}-{sample}", "contact_id": contact_id,
                            "type": "track", "name": name, "properties": _properties(name, rng), "context": {},
                            "occurred_at": NOW, "received_at": NOW}])  # fmt: skip
        with sessions() as session:
            start = time.perf_counter()
            update_scores(session, ctx, [contact_id])
            session.commit()
            seconds.append(time.perf_counter() - start)
    return seconds


def measure(kind: str, rows: int, repeat: int, workdir: Path) -> None:
    url = fresh_database(kind, workdir)
    settings = Settings(database_url=url, secret_key=SECRET, _env_file=None)
    engine = make_engine(settings)
    try:
        upgrade(engine)
        seconds, _ = timed(lambda: load(engine, rows))
        print(f"{kind:<10} loaded {rows:,} contacts and {rows * EVENTS_PER_CONTACT:,} events in {seconds:.1f} s",
              flush=True)  # fmt: skip
        ctx = Context(settings, SimulatedClock(NOW))
        runs = []
        for number in range(1, repeat + 1):
            fill, by_hand, whole, scored = compare(engine, ctx)
            runs.append((fill, by_hand, whole))
            print(f"{kind:<10} run {number}: rescore {fill * 1000:,.0f} ms, hand-written {by_hand * 1000:,.0f} ms, "
                  f"ratio {fill / by_hand:.2f}; whole job with events and switch {whole * 1000:,.0f} ms; "
                  f"{scored:,} contacts scored", flush=True)  # fmt: skip
        fill, by_hand, whole = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"{kind:<10} median of {repeat}: rescore {fill * 1000:,.0f} ms, hand-written {by_hand * 1000:,.0f} ms, "
              f"ratio {fill / by_hand:.2f} (goal 1.50 or less); whole job {whole * 1000:,.0f} ms", flush=True)  # fmt: skip
        runs_p95, runs_median = [], []
        for _ in range(repeat):
            seconds = upkeep(engine, ctx, rows)
            runs_median.append(statistics.median(seconds))
            runs_p95.append(statistics.quantiles(seconds, n=20)[-1])
        print(f"{kind:<10} upkeep of one event, 20 rules, median of {repeat}: median "
              f"{statistics.median(runs_median) * 1000:.2f} ms, p95 {statistics.median(runs_p95) * 1000:.2f} ms "
              f"(goal p95 under 10 ms)", flush=True)  # fmt: skip
    finally:
        engine.dispose()
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="contacts; each has 10 events")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        for kind in kinds:
            measure(kind, args.rows, args.repeat, Path(tmp))


if __name__ == "__main__":
    main()
