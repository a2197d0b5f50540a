"""Scoring one contact in memory: the same numbers the set-based rescore computes in SQL.

A score is a pure function of the contact's facts (profile, company, events), the rules and the
moment. Event points are weighted by 2^((occurred_at - reference_at) / half-life) when they are
summed, so the stored `level` never changes with time; reading it at `now` multiplies by
2^(-(now - reference_at) / half-life). A rule's limit counts occurrences in fixed periods of
`per_days` days from 1970-01-01 UTC, in the order they happened: the first ones in a period count in
full, the one that reaches the limit counts in part, the rest count nothing.
"""

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Protocol

from funnelwise.conditions import EventFact, Facts, evaluate
from funnelwise.scoring.rules import Grading, Rule, Scoring
from funnelwise.scoring.schemas import GRADES

DAY_SECONDS = 86_400
# Scores that differ by less than this (relative) are the same score: SQL and Python sum floats
# in different orders, and a rescore must not log a change that is only rounding.
TOLERANCE = 1e-9


class Reading(Protocol):
    """What reading a stored score at a moment needs: a version's reference time, decay and cap."""

    @property
    def reference_at(self) -> datetime: ...
    @property
    def half_life_days(self) -> float | None: ...
    @property
    def cap(self) -> float | None: ...


@dataclass(frozen=True)
class Occurrence:
    """One event an event rule scored: its points as given, as limited, and weighted for decay."""

    rule: str
    event: EventFact
    points: float
    counted: float
    weighted: float


@dataclass(frozen=True)
class Totals:
    """What is stored per contact and version: `by_rule` holds a rule only if it scored."""

    fixed: float = 0.0
    level: float = 0.0
    by_rule: Mapping[str, float] = field(default_factory=dict)
    occurrences: tuple[Occurrence, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.by_rule


def score_contact(scoring: Scoring, facts: Facts, now: datetime, tz: tzinfo) -> Totals:
    """The contact's fixed points, decay-weighted event level and the part of each rule."""
    by_rule: dict[str, float] = {}
    fixed = 0.0
    for rule in scoring.property_rules:
        if evaluate(rule.tree, facts, now, tz):
            by_rule[rule.name] = rule.points
            fixed += rule.points
    occurrences = _occurrences(scoring, facts, now, tz)
    level = 0.0
    for occurrence in occurrences:
        by_rule[occurrence.rule] = by_rule.get(occurrence.rule, 0.0) + occurrence.weighted
        level += occurrence.weighted
    return Totals(fixed, level, by_rule, tuple(occurrences))


def decay_factor(scoring: Reading, now: datetime) -> float:
    """What a stored level is multiplied by to read it at `now`."""
    if scoring.half_life_days is None:
        return 1.0
    return 2.0 ** (
        (_seconds(scoring.reference_at) - now.timestamp()) / (DAY_SECONDS * scoring.half_life_days)
    )


def score_at(scoring: Reading, fixed: float, level: float, now: datetime) -> float:
    """The score at `now` of stored totals: decayed, then capped."""
    raw = fixed + level * decay_factor(scoring, now)
    return raw if scoring.cap is None or raw <= scoring.cap else scoring.cap


def grade_of(grading: Grading | None, score: float) -> str | None:
    if grading is None:
        return None
    names = GRADES[grading.scale]
    for name, threshold in zip(names, grading.thresholds, strict=False):
        if score >= threshold:
            return name
    return names[-1]


def same(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def weight(scoring: Scoring, occurred_at: datetime) -> float:
    if scoring.half_life_days is None:
        return 1.0
    # Whole seconds, as SQL reads them, so both sides compute the very same exponent.
    return 2.0 ** (
        (_seconds(occurred_at) - _seconds(scoring.reference_at)) / (DAY_SECONDS * scoring.half_life_days)
    )


def period_of(rule: Rule, occurred_at: datetime) -> int:
    """The number of the rule's limit period an event falls in (whole UTC seconds, like SQL)."""
    assert rule.limit_days is not None
    return _seconds(occurred_at) // (rule.limit_days * DAY_SECONDS)


def limited_points(rule: Rule, nth: int) -> float:
    """The points the nth (1-based) occurrence of a period counts under the rule's limit."""
    if rule.limit_points is None:
        return rule.points
    size = abs(rule.points)
    left = rule.limit_points - (nth - 1) * size
    counted = size if left >= size else max(left, 0.0)
    return math.copysign(counted, rule.points)


def _occurrences(scoring: Scoring, facts: Facts, now: datetime, tz: tzinfo) -> list[Occurrence]:
    rules_by_event: defaultdict[str, list[Rule]] = defaultdict(list)
    for rule in scoring.event_rules:
        assert rule.event is not None
        rules_by_event[rule.event.event].append(rule)
    seen: defaultdict[tuple[str, int], int] = defaultdict(int)
    found: list[Occurrence] = []
    # Facts hold events in the order they happened, as the SQL's row numbers count them.
    for event in facts.events:
        for rule in rules_by_event.get(event.name, ()):
            assert rule.event is not None
            if not evaluate(rule.event, Facts(contact=facts.contact, events=(event,)), now, tz):
                continue
            counted = rule.points
            if rule.limit_days is not None:
                key = (rule.name, period_of(rule, event.occurred_at))
                seen[key] += 1
                counted = limited_points(rule, seen[key])
                if counted == 0:
                    continue
            found.append(
                Occurrence(
                    rule.name, event, rule.points, counted, counted * weight(scoring, event.occurred_at)
                )
            )
    return found


def _seconds(moment: datetime) -> int:
    return math.floor(moment.timestamp())
