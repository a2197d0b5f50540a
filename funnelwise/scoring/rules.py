"""A score model's definition turned into rules ready to score: checked, parsed, split by kind.

A rule whose condition is a single event leaf (`{event: Page Viewed, where: […]}`) is an *event
rule*: every occurrence scores, within the rule's limit per period, and decays. Any other condition
is a *property rule*: its points count once while it holds.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from funnelwise.conditions import Condition, check_names, event_names, parse_condition
from funnelwise.conditions.operators import Performed
from funnelwise.conditions.tree import EventCondition
from funnelwise.errors import FieldError, InvalidInput
from funnelwise.scoring.schemas import GradeScale, ScoreModelIn

# Leaves a scoring rule may not use: a score that depends on a score has no order to compute in.
SCORE_KEYS = frozenset({"score", "grade"})


@dataclass(frozen=True)
class Rule:
    name: str
    points: float
    tree: Condition
    limit_points: float | None = None
    limit_days: int | None = None

    @property
    def event(self) -> EventCondition | None:
        """The event leaf of an event rule; None for a property rule."""
        return self.tree if isinstance(self.tree, EventCondition) else None

    @property
    def most_counted(self) -> int | None:
        """How many occurrences in one period can count at all under the limit."""
        if self.limit_points is None:
            return None
        whole, part = divmod(self.limit_points, abs(self.points))
        return int(whole) + (1 if part > 0 else 0)


@dataclass(frozen=True)
class Grading:
    scale: GradeScale
    thresholds: tuple[float, float, float]  # the lowest score of the best three grades, best first


@dataclass(frozen=True)
class Scoring:
    """One version of a model: its rules and how a stored score is read at a moment."""

    rules: tuple[Rule, ...]
    reference_at: datetime
    half_life_days: float | None = None
    cap: float | None = None
    grading: Grading | None = None

    @property
    def event_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.event is not None)

    @property
    def property_rules(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.event is None)

    def event_names(self) -> set[str]:
        return set().union(*(event_names(rule.tree) for rule in self.rules))


def read_definition(data: Any) -> ScoreModelIn:
    """A definition from decoded YAML or JSON; `InvalidInput` names every bad field by its path."""
    try:
        definition = ScoreModelIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            [FieldError(_path(error["loc"]), error["msg"]) for error in exc.errors()]
        ) from None
    parse_rules(definition)
    return definition


def parse_rules(definition: ScoreModelIn) -> tuple[Rule, ...]:
    """The rules of a definition, parsed; every bad condition or rule shape is reported by its path."""
    errors: list[FieldError] = []
    rules: list[Rule] = []
    for index, rule in enumerate(definition.rules):
        at = f"rules[{index}]"
        try:
            tree = parse_condition(rule.condition)
        except InvalidInput as exc:
            errors.extend(FieldError(f"{at}.condition.{e.field}".rstrip("."), e.message) for e in exc.errors)
            continue
        problem = _shape_problem(rule.condition, tree, rule.limit is not None)
        if problem:
            errors.append(FieldError(f"{at}.condition", problem))
            continue
        limit = rule.limit
        rules.append(
            Rule(
                rule.name,
                rule.points,
                tree,
                limit.points if limit else None,
                limit.per_days if limit else None,
            )
        )
    if errors:
        raise InvalidInput(errors)
    return tuple(rules)


def unknown_names(session: Session, rules: tuple[Rule, ...]) -> list[FieldError]:
    """Every property nobody defined and every event never recorded, by the path of its rule."""
    found: list[FieldError] = []
    for index, rule in enumerate(rules):
        for warning in check_names(session, rule.tree):
            where = "" if warning.path == "condition" else f".{warning.path}"
            found.append(FieldError(f"rules[{index}].condition{where}", warning.message))
    return found


def scoring_of(definition: dict[str, Any] | str, reference_at: datetime) -> Scoring:
    """The rules of a stored definition (or its JSON text), parsed once per process for each text."""
    text = definition if isinstance(definition, str) else json.dumps(definition, sort_keys=True)
    return _scoring(text, reference_at)


@lru_cache(maxsize=256)
def _scoring(definition_json: str, reference_at: datetime) -> Scoring:
    # The name is not part of a version's definition; any name reads it.
    definition = ScoreModelIn.model_validate({**json.loads(definition_json), "name": "-"})
    grading = None
    if definition.grades is not None:
        grading = Grading(definition.grades.scale, definition.grades.ordered())
    return Scoring(
        rules=parse_rules(definition),
        reference_at=reference_at,
        half_life_days=definition.half_life_days,
        cap=definition.cap,
        grading=grading,
    )


def _shape_problem(data: dict[str, Any], tree: Condition, limited: bool) -> str | None:
    if _uses_scores(data):
        return "a scoring rule cannot test a score or a grade"
    if not isinstance(tree, EventCondition):
        if limited:
            return "a limit applies to event rules only; a property rule counts once while it holds"
        return None
    if tree.performed is not Performed.AT_LEAST or tree.times != 1:
        return "an event rule scores every occurrence; leave out performed and times"
    if tree.within_last_days is not None:
        return "an event rule counts every occurrence; use the model's half_life_days to let old points fade"
    return None


def _uses_scores(data: Any) -> bool:
    if isinstance(data, dict):
        return any(key in SCORE_KEYS or _uses_scores(value) for key, value in data.items())
    if isinstance(data, list):
        return any(_uses_scores(item) for item in data)
    return False


def _path(location: tuple[int | str, ...]) -> str:
    path = ""
    for step in location:
        path += f"[{step}]" if isinstance(step, int) else (f".{step}" if path else str(step))
    return path or "model"
