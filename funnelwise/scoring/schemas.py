"""The shapes score models, scores and their explanations take at the edges (API, CLI, YAML)."""

import math
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

RULE_NAME = r"^[\w][\w .\-]{0,99}$"
MIN_HALF_LIFE_DAYS = 7


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _points(value: Any) -> Any:
    # bool is an int to Python, and "5" is a string YAML users write by mistake: both are refused.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PydanticCustomError("points", "points must be a number, such as 2 or -10")
    return value


class LimitIn(_Input):
    """At most `points` points from one rule in each period of `per_days` days."""

    points: int | float = Field(gt=0)
    per_days: int = Field(ge=1, le=3650)

    @field_validator("points", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return _points(value)


class RuleIn(_Input):
    """A condition and the points it is worth: per occurrence for an event, once for anything else."""

    name: str = Field(pattern=RULE_NAME, description="Letters, digits, spaces, '_', '.', '-'; unique")
    # Parsed by the service, so a bad node is named by its path (`rules[2].condition.where[0]`).
    condition: dict[str, Any]
    points: int | float
    limit: LimitIn | None = None

    @field_validator("points", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return _points(value)


class GradeScale(StrEnum):
    LETTER = "letter"  # A (best) to D
    NUMBER = "number"  # 4 (best) to 1


GRADES = {GradeScale.LETTER: ("A", "B", "C", "D"), GradeScale.NUMBER: ("4", "3", "2", "1")}


class GradesIn(_Input):
    """The lowest score of each grade but the last: `{A: 80, B: 50, C: 20}` or `{4: 60, 3: 30, 2: 10}`."""

    scale: GradeScale
    thresholds: dict[str, int | float]

    @field_validator("thresholds", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(key): _points(number) for key, number in value.items()}
        return value

    @model_validator(mode="after")
    def _three_descending(self) -> "GradesIn":
        grades = GRADES[self.scale]
        if set(self.thresholds) != set(grades[:3]):
            raise PydanticCustomError(
                "grades",
                "give the lowest score of grades {wanted}; grade {last} is every score below",
                {"wanted": ", ".join(grades[:3]), "last": grades[3]},
            )
        values = [self.thresholds[grade] for grade in grades[:3]]
        if not values[0] > values[1] > values[2]:
            raise PydanticCustomError("grades", "thresholds must fall from the best grade to the worst")
        return self

    def ordered(self) -> tuple[float, float, float]:
        first, second, third = (self.thresholds[grade] for grade in GRADES[self.scale][:3])
        return first, second, third


class ScoreModelIn(_Input):
    """A score model as written in YAML or sent to the API."""

    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    half_life_days: int | float | None = Field(default=None, ge=MIN_HALF_LIFE_DAYS, le=3650)
    cap: int | float | None = Field(default=None, gt=0)
    grades: GradesIn | None = None
    rules: list[RuleIn] = Field(min_length=1, max_length=200)

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, rules: list[RuleIn]) -> list[RuleIn]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise PydanticCustomError("rules", f"two rules are named {rule.name!r}")
            seen.add(rule.name)
        return rules


class VersionState(StrEnum):
    BUILDING = "building"
    CURRENT = "current"
    RETIRED = "retired"
    FAILED = "failed"


class VersionOut(BaseModel):
    id: int
    version: int
    state: VersionState
    progress_done: int
    progress_total: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ScoreModelOut(BaseModel):
    id: int
    name: str
    description: str
    definition: dict[str, Any]
    current: VersionOut | None
    building: VersionOut | None
    created_at: datetime
    updated_at: datetime


class NameWarningOut(BaseModel):
    path: str
    message: str


class ScoreModelSaved(BaseModel):
    """A created or changed model; its scores are (re)computed by the rescore of `building`."""

    model: ScoreModelOut
    warnings: list[NameWarningOut]


class ContactScoreOut(BaseModel):
    model_id: int
    model_name: str
    contact_id: int
    score: float
    grade: str | None
    at: datetime


class Contribution(BaseModel):
    """One reason for a contact's score: a property rule that holds, or one scored event."""

    rule: str
    kind: str  # property or event
    points: float  # as the rule gives them
    counted: float  # after the rule's limit
    now: float  # after decay, at the moment of the explanation
    event: str | None = None
    occurred_at: datetime | None = None


class ExplanationOut(BaseModel):
    model_id: int
    model_name: str
    version: int
    contact_id: int
    at: datetime
    total_before_cap: float
    cap: float | None
    score: float
    grade: str | None
    contributions: list[Contribution]


class ScoreChange(BaseModel):
    """A contact's score in a model's current version moved; `rules` names the rules that moved it."""

    model_id: int
    model_name: str
    version: int
    contact_id: int
    previous_score: float
    score: float
    previous_grade: str | None
    grade: str | None
    rules: list[str]
    at: datetime


class RescoreOut(BaseModel):
    model_id: int
    model_name: str
    version: int
    state: VersionState
    contacts: int
    scored: int
    changed: int
