"""Reading a stored score at a moment, in SQL and in memory, the same way.

A contact without a row in a version scores 0. The score at `now` is
min(cap, fixed + level * 2^((reference_at - now) / half-life)), its grade the best grade whose
threshold it reaches.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, func, literal, select
from sqlalchemy.orm import Session

from funnelwise.db.dialect import one_of
from funnelwise.scoring.compute import DAY_SECONDS, grade_of, score_at
from funnelwise.scoring.models import ContactScore, ScoreModel, ScoreModelVersion
from funnelwise.scoring.rules import Grading
from funnelwise.scoring.schemas import GradeScale
from funnelwise.scoring.setwise import whole_seconds

_models = ScoreModel.__table__
_versions = ScoreModelVersion.__table__
_scores = ContactScore.__table__
_READING = (
    "reference_at",
    "half_life_days",
    "cap",
    "grade_scale",
    "threshold_1",
    "threshold_2",
    "threshold_3",
)


@dataclass(frozen=True)
class StoredScore:
    """A contact's stored totals in a model's current version, with what reading them needs."""

    model_id: int
    model_name: str
    reference_at: datetime
    half_life_days: float | None
    cap: float | None
    grading: Grading | None
    fixed: float = 0.0
    level: float = 0.0

    def at(self, now: datetime) -> float:
        return score_at(self, self.fixed, self.level, now)

    def grade_at(self, now: datetime) -> str | None:
        return grade_of(self.grading, self.at(now))


def grading_of(version: Any) -> Grading | None:
    """The grading of a version row (ORM object or result row)."""
    if version.grade_scale is None:
        return None
    return Grading(
        GradeScale(version.grade_scale), (version.threshold_1, version.threshold_2, version.threshold_3)
    )


def score_sql(versions: Any, scores: Any, now: datetime, dialect: str) -> ColumnElement[float]:
    """The score at `now` of a row of `contact_scores` (0 when there is none) in its version."""
    decay = case(
        (versions.c.half_life_days.is_(None), literal(1.0, Float)),
        else_=func.power(
            2.0,
            (whole_seconds(versions.c.reference_at, dialect) - literal(now.timestamp(), Float))
            / (DAY_SECONDS * versions.c.half_life_days),
        ),
    )
    raw = func.coalesce(scores.c.fixed, 0.0) + func.coalesce(scores.c.level, 0.0) * decay
    return case(
        (and_(versions.c.cap.is_not(None), raw > versions.c.cap), versions.c.cap),
        else_=raw,
    )


def current_scores(session: Session, contact_ids: Iterable[int]) -> dict[int, dict[str, StoredScore]]:
    """Each contact's stored score in the current version of every model, by model name.

    What the `score` and `grade` leaves read in memory (`facts.extra["scores"]`); a contact with no
    row in a version has a score of 0 there.
    """
    ids = sorted(set(contact_ids))
    versions = session.execute(
        select(
            _models.c.id,
            _models.c.name,
            _versions.c.id.label("version_id"),
            *(_versions.c[name] for name in _READING),
        ).join(_versions, _versions.c.id == _models.c.current_version_id)
    ).all()
    found: defaultdict[int, dict[str, StoredScore]] = defaultdict(dict)
    if not versions or not ids:
        return {contact_id: {} for contact_id in ids}
    rows = session.execute(
        select(_scores.c.version_id, _scores.c.contact_id, _scores.c.fixed, _scores.c.level).where(
            one_of(session, _scores.c.contact_id, ids),
            _scores.c.version_id.in_([version.version_id for version in versions]),
        )
    )
    totals = {(version_id, contact_id): (fixed, level) for version_id, contact_id, fixed, level in rows}
    for version in versions:
        for contact_id in ids:
            fixed, level = totals.get((version.version_id, contact_id), (0.0, 0.0))
            found[contact_id][version.name] = StoredScore(
                model_id=version.id,
                model_name=version.name,
                reference_at=version.reference_at,
                half_life_days=version.half_life_days,
                cap=version.cap,
                grading=grading_of(version),
                fixed=fixed,
                level=level,
            )
    return {contact_id: found[contact_id] for contact_id in ids}
