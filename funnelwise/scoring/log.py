"""`Score Changed` events in the one log, with message ids that make a retry store nothing twice.

Properties: `model_id`, `model_name`, `version`, `previous_score`, `score`, `previous_grade`,
`grade` and `rules`, the names of the rules whose part of the score moved. A change found as an
event arrives has the message id `score-<model>-<contact>-<time>`; one found by a rescore
`score-<model>-<contact>-v<version>-<time>`.
"""

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Float, String, and_, case, cast, func, literal, null, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from funnelwise.db.dialect import dialect_name, insert
from funnelwise.db.types import JSONDoc, UTCDateTime
from funnelwise.scoring.compute import TOLERANCE, decay_factor
from funnelwise.scoring.models import ContactScore
from funnelwise.scoring.rules import Grading, Scoring
from funnelwise.scoring.schemas import GRADES, ScoreChange
from funnelwise.tracking.log import SYSTEM
from funnelwise.tracking.models import Event

SCORE_CHANGED = "Score Changed"
_events = Event.__table__
_scores = ContactScore.__table__
_COLUMNS = ["message_id", "contact_id", "type", "name", "properties", "context", "occurred_at", "received_at"]


def log_changes(session: Session, changes: Sequence[ScoreChange]) -> None:
    """One event per change found as events arrived, in one statement."""
    if changes:
        session.connection().execute(change_logging(dialect_name(session)), change_rows(changes))


def change_rows(changes: Sequence[ScoreChange]) -> list[dict[str, Any]]:
    """The `events` rows of `log_changes`, for callers that write them with something else."""
    return [
        {
            "message_id": f"score-{change.model_id}-{change.contact_id}-{change.at.isoformat()}",
            "contact_id": change.contact_id,
            "type": SYSTEM,
            "name": SCORE_CHANGED,
            "properties": {
                "model_id": change.model_id,
                "model_name": change.model_name,
                "version": change.version,
                "previous_score": change.previous_score,
                "score": change.score,
                "previous_grade": change.previous_grade,
                "grade": change.grade,
                "rules": change.rules,
            },
            "context": {},
            "occurred_at": change.at,
            "received_at": change.at,
        }
        for change in changes
    ]


@lru_cache(maxsize=4)
def change_logging(dialect: str) -> Any:
    """The insert of `log_changes`, built once per database: a message id seen already stores nothing."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_events)
    return statement.on_conflict_do_nothing(index_elements=["message_id"])


def log_switch(
    session: Session,
    model: tuple[int, str],
    old: tuple[int, Scoring] | None,
    new: tuple[int, int, Scoring],
    now: datetime,
) -> int:
    """An event for every contact whose score at `now` differs between two versions; set-based.

    `old` is the (id, scoring) of the version readers saw until now, `new` the (id, number,
    scoring) they see from now on. Returns how many events were written.
    """
    dialect = dialect_name(session)
    model_id, model_name = model
    new_id, new_number, new_scoring = new
    fresh = _scores.alias("fresh")
    if old is None:
        pairs = select(fresh.c.contact_id, fresh.c.fixed, fresh.c.level, fresh.c.by_rule).where(
            fresh.c.version_id == new_id
        )
        rows = pairs.subquery()
        before = _Side(None, None, None, None, dialect)
        after = _Side(rows.c.fixed, rows.c.level, rows.c.by_rule, new_scoring, dialect)
        contact_id = rows.c.contact_id
        source: Any = rows
    else:
        old_id, old_scoring = old
        stale = _scores.alias("stale")
        kept = (
            select(
                fresh.c.contact_id,
                fresh.c.fixed.label("new_fixed"),
                fresh.c.level.label("new_level"),
                fresh.c.by_rule.label("new_by_rule"),
                stale.c.fixed.label("old_fixed"),
                stale.c.level.label("old_level"),
                stale.c.by_rule.label("old_by_rule"),
            )
            .select_from(
                fresh.outerjoin(
                    stale, and_(stale.c.contact_id == fresh.c.contact_id, stale.c.version_id == old_id)
                )
            )
            .where(fresh.c.version_id == new_id)
        )
        newer = select(1).where(fresh.c.version_id == new_id, fresh.c.contact_id == stale.c.contact_id)
        gone = select(
            stale.c.contact_id,
            null(),
            null(),
            null(),
            stale.c.fixed,
            stale.c.level,
            stale.c.by_rule,
        ).where(stale.c.version_id == old_id, ~newer.exists())
        rows = union_all(kept, gone).subquery()
        before = _Side(rows.c.old_fixed, rows.c.old_level, rows.c.old_by_rule, old_scoring, dialect)
        after = _Side(rows.c.new_fixed, rows.c.new_level, rows.c.new_by_rule, new_scoring, dialect)
        contact_id = rows.c.contact_id
        source = rows
    previous, score = before.score(now), after.score(now)
    names = sorted(
        {rule.name for rule in new_scoring.rules} | ({r.name for r in old[1].rules} if old else set())
    )
    moved = [case((_differ(before.part(name, now), after.part(name, now)), literal(name))) for name in names]
    properties = _object(
        dialect,
        model_id=literal(model_id),
        model_name=literal(model_name),
        version=literal(new_number),
        previous_score=previous,
        score=score,
        previous_grade=before.grade(previous),
        grade=after.grade(score),
        rules=_names_array(moved, dialect),
    )
    stamp = literal(now, UTCDateTime())
    message = (
        literal(f"score-{model_id}-")
        + cast(contact_id, String)
        + literal(f"-v{new_number}-{now.isoformat()}")
    )
    logged = (
        select(
            message,
            contact_id,
            literal(SYSTEM),
            literal(SCORE_CHANGED),
            properties,
            literal({}, JSONDoc),
            stamp,
            stamp,
        )
        .select_from(source)
        .where(_differ(previous, score))
    )
    statement = insert(session, _events).from_select(_COLUMNS, logged)
    statement = statement.on_conflict_do_nothing(index_elements=["message_id"]).returning(_events.c.id)
    return len(session.scalars(statement).all())


class _Side:
    """One version's stored totals of a contact, as SQL: null columns mean no row (a score of 0)."""

    def __init__(self, fixed: Any, level: Any, by_rule: Any, scoring: Scoring | None, dialect: str) -> None:
        self.fixed, self.level, self.by_rule, self.scoring, self.dialect = (
            fixed,
            level,
            by_rule,
            scoring,
            dialect,
        )

    def score(self, now: datetime) -> Any:
        if self.scoring is None or self.fixed is None:
            return literal(0.0, Float)
        raw = func.coalesce(self.fixed, 0.0) + func.coalesce(self.level, 0.0) * decay_factor(
            self.scoring, now
        )
        if self.scoring.cap is None:
            return raw
        return case((raw > self.scoring.cap, self.scoring.cap), else_=raw)

    def part(self, name: str, now: datetime) -> Any:
        """The rule's part of the score at `now` (0 when it scored nothing)."""
        if self.scoring is None or self.by_rule is None:
            return literal(0.0, Float)
        rules = {rule.name: rule for rule in self.scoring.rules}
        if name not in rules:
            return literal(0.0, Float)
        value = func.coalesce(_json_number(self.by_rule, name, self.dialect), 0.0)
        return value * decay_factor(self.scoring, now) if rules[name].event is not None else value

    def grade(self, score: Any) -> Any:
        grading: Grading | None = self.scoring.grading if self.scoring else None
        if grading is None:
            return null()
        names = GRADES[grading.scale]
        steps = [
            (score >= threshold, literal(name))
            for name, threshold in zip(names, grading.thresholds, strict=False)
        ]
        return case(*steps, else_=literal(names[-1]))


def _differ(a: Any, b: Any) -> Any:
    bound = func.abs(a) + func.abs(b) + 1.0  # a tolerance relative to the larger of the two
    return func.abs(a - b) > TOLERANCE * bound


def _json_number(document: Any, key: str, dialect: str) -> Any:
    if dialect == "postgresql":
        return cast(document.op("->>")(key), Float)
    return func.json_extract(document, f'$."{key}"')


def _object(dialect: str, **values: Any) -> Any:
    arguments = [item for key, value in values.items() for item in (literal(key), value)]
    if dialect == "postgresql":
        return func.jsonb_build_object(*arguments)
    return func.json_object(*arguments)


def _names_array(names: list[Any], dialect: str) -> Any:
    """A JSON array of the names that are not null, in order."""
    if dialect == "postgresql":
        return func.to_jsonb(func.array_remove(array(names), null()))
    items = func.json_each(func.json_array(*names)).table_valued("value")
    return select(func.json_group_array(items.c.value)).where(items.c.value.is_not(None)).scalar_subquery()
