"""The condition leaves this package adds: a contact's score and grade in a model, now.

`{score: {model: engagement, gte: 30}}` holds when the contact's current score in the model is at
least 30 (`gt`, `gte`, `lt`, `lte`, all that are given must hold); a contact the model never scored
has 0. `{grade: {model: fit, gte: B}}` holds for grades B and A (`equals`, `in`, `gte` for this
grade or better, `lte` for this grade or worse; letters A to D or numbers 4 to 1, 4 best). A model that
does not exist, has no scores yet, has no grades or grades on the other scale matches nobody.

In memory the leaves read `facts.extra["scores"]`: the contact's `StoredScore` by model name
(`reading.current_scores`).
"""

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from funnelwise.conditions import Condition, Facts, Moment, SqlScope, register_leaf
from funnelwise.scoring.models import ContactScore, ScoreModel, ScoreModelVersion
from funnelwise.scoring.reading import StoredScore, score_sql
from funnelwise.scoring.schemas import GRADES, GradeScale

_models = ScoreModel.__table__
_versions = ScoreModelVersion.__table__
_scores = ContactScore.__table__


class _Test(BaseModel):
    # The "condition" error type makes parse_condition show the message as it is, by its path.
    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, max_length=255)


class ScoreTest(_Test):
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    @field_validator("gt", "gte", "lt", "lte", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise PydanticCustomError("condition", "expected a number")
        return value

    @model_validator(mode="after")
    def _some_bound(self) -> Self:
        if self.gt is None and self.gte is None and self.lt is None and self.lte is None:
            raise PydanticCustomError("condition", "give at least one of gt, gte, lt, lte")
        return self


def _grade(value: Any) -> str:
    text = str(value).upper() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if text not in GRADES[GradeScale.LETTER] + GRADES[GradeScale.NUMBER]:
        raise PydanticCustomError("condition", "expected a grade: A, B, C, D or 4, 3, 2, 1")
    return text


class GradeTest(_Test):
    equals: str | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")
    gte: str | None = None
    lte: str | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("equals", "gte", "lte", mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return None if value is None else _grade(value)

    @field_validator("in_", mode="before")
    @classmethod
    def _many(cls, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple) or not value:
            raise PydanticCustomError("condition", "expected a list of grades")
        return tuple(_grade(item) for item in value)

    @model_validator(mode="after")
    def _one_scale(self) -> Self:
        given = [g for g in (self.equals, self.gte, self.lte, *(self.in_ or ())) if g is not None]
        if not given:
            raise PydanticCustomError("condition", "give one of equals, in, gte, lte")
        if len({_scale(grade) for grade in given}) > 1:
            raise PydanticCustomError(
                "condition", "grades are letters (A to D) or numbers (4 to 1), not both"
            )
        return self

    @property
    def scale(self) -> GradeScale:
        first = next(g for g in (self.equals, self.gte, self.lte, *(self.in_ or ())) if g is not None)
        return _scale(first)

    def ranks(self) -> frozenset[int]:
        """The grades that pass, as ranks: 0 is the best grade, 3 the worst."""
        names = GRADES[self.scale]
        allowed = set(range(4))
        if self.equals is not None:
            allowed &= {names.index(self.equals)}
        if self.in_ is not None:
            allowed &= {names.index(grade) for grade in self.in_}
        if self.gte is not None:
            allowed &= set(range(names.index(self.gte) + 1))
        if self.lte is not None:
            allowed &= set(range(names.index(self.lte), 4))
        return frozenset(allowed)


def _scale(grade: str) -> GradeScale:
    return GradeScale.LETTER if grade in GRADES[GradeScale.LETTER] else GradeScale.NUMBER


class ScoreCondition(Condition):
    """The contact's score in a model, now."""

    score: ScoreTest


class GradeCondition(Condition):
    """The contact's grade in a model, now."""

    grade: GradeTest


def _in_current_version(model: str, test: ColumnElement[bool], scope: SqlScope) -> ColumnElement[bool]:
    joined = _models.join(_versions, _versions.c.id == _models.c.current_version_id).outerjoin(
        _scores, and_(_scores.c.version_id == _versions.c.id, _scores.c.contact_id == scope.contact_id)
    )
    return exists(select(1).select_from(joined).where(_models.c.name == model, test))


def _score_sql(leaf: ScoreCondition, scope: SqlScope) -> ColumnElement[bool]:
    score = score_sql(_versions, _scores, scope.moment.now, scope.dialect)
    test = leaf.score
    bounds = []
    if test.gt is not None:
        bounds.append(score > test.gt)
    if test.gte is not None:
        bounds.append(score >= test.gte)
    if test.lt is not None:
        bounds.append(score < test.lt)
    if test.lte is not None:
        bounds.append(score <= test.lte)
    return _in_current_version(test.model, and_(*bounds), scope)


def _grade_sql(leaf: GradeCondition, scope: SqlScope) -> ColumnElement[bool]:
    score = score_sql(_versions, _scores, scope.moment.now, scope.dialect)
    thresholds = (_versions.c.threshold_1, _versions.c.threshold_2, _versions.c.threshold_3)
    ranks = []
    for rank in sorted(leaf.grade.ranks()):
        at_least = score >= thresholds[rank] if rank < 3 else true()
        below = score < thresholds[rank - 1] if rank > 0 else true()
        ranks.append(and_(at_least, below))
    if not ranks:
        return false()
    test = and_(_versions.c.grade_scale == leaf.grade.scale.value, or_(*ranks))
    return _in_current_version(leaf.grade.model, test, scope)


def _stored(facts: Facts, model: str) -> StoredScore | None:
    return facts.extra.get("scores", {}).get(model)


def _score(leaf: ScoreCondition, facts: Facts, moment: Moment) -> bool:
    stored = _stored(facts, leaf.score.model)
    if stored is None:
        return False
    score, test = stored.at(moment.now), leaf.score
    return (
        (test.gt is None or score > test.gt)
        and (test.gte is None or score >= test.gte)
        and (test.lt is None or score < test.lt)
        and (test.lte is None or score <= test.lte)
    )


def _grade_holds(leaf: GradeCondition, facts: Facts, moment: Moment) -> bool:
    stored = _stored(facts, leaf.grade.model)
    if stored is None or stored.grading is None or stored.grading.scale is not leaf.grade.scale:
        return False
    grade = stored.grade_at(moment.now)
    return GRADES[leaf.grade.scale].index(grade or "") in leaf.grade.ranks()


register_leaf("score", ScoreCondition, _score_sql, _score)
register_leaf("grade", GradeCondition, _grade_sql, _grade_holds)
