"""A score model is refused with the path and reason of every bad part, and nothing is stored."""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.errors import InvalidInput
from funnelwise.scoring.models import ScoreModel
from funnelwise.scoring.rules import read_definition
from funnelwise.scoring.service import create_model
from tests.factories import make_contact
from tests.segments.support import track


def _rule(**fields: Any) -> dict[str, Any]:
    return {"name": "r", "condition": {"event": "Page Viewed"}, "points": 1} | fields


def _refusals(*rules: dict[str, Any], **model: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as refused:
        read_definition({"name": "m", "rules": list(rules)} | model)
    return [(e.field, e.message) for e in refused.value.errors]


def test_points_that_are_not_numbers_are_refused_by_path() -> None:
    assert _refusals(_rule(points="5"), _rule(name="s", points=True), _rule(name="t", points=None)) == [
        ("rules[0].points", "points must be a number, such as 2 or -10"),
        ("rules[1].points", "points must be a number, such as 2 or -10"),
        ("rules[2].points", "points must be a number, such as 2 or -10"),
    ]


def test_a_bad_condition_is_refused_by_its_path_inside_the_rule() -> None:
    where = [{"property": "path", "operator": "more_than", "value": 1}]
    refusals = _refusals(_rule(condition={"event": "Page Viewed", "where": where}))

    assert [field for field, _ in refusals] == ["rules[0].condition.where[0].operator"]
    assert refusals[0][1].startswith("unknown operator 'more_than'")


def test_event_rules_score_every_occurrence_so_counts_and_sliding_windows_are_refused() -> None:
    assert _refusals(
        _rule(condition={"event": "Page Viewed", "performed": "at_least", "times": 3}),
        _rule(name="s", condition={"event": "Page Viewed", "within_last_days": 30}),
        _rule(
            name="t",
            condition={"property": "job_level", "operator": "is_set"},
            limit={"points": 5, "per_days": 30},
        ),
        _rule(name="u", condition={"score": {"model": "fit", "gte": 3}}),
    ) == [
        ("rules[0].condition", "an event rule scores every occurrence; leave out performed and times"),
        (
            "rules[1].condition",
            "an event rule counts every occurrence; use the model's half_life_days to let old points fade",
        ),
        (
            "rules[2].condition",
            "a limit applies to event rules only; a property rule counts once while it holds",
        ),
        ("rules[3].condition", "a scoring rule cannot test a score or a grade"),
    ]


def test_limits_decay_grades_and_rule_names_are_checked() -> None:
    refusals = _refusals(
        _rule(limit={"points": 0, "per_days": 30}),
        _rule(),
        half_life_days=2,
        grades={"scale": "letter", "thresholds": {"A": 5, "B": 10, "C": 1}},
    )

    assert [field for field, _ in refusals] == ["half_life_days", "grades", "rules[0].limit.points"]
    assert refusals[0][1] == "Input should be greater than or equal to 7"
    assert refusals[1][1] == "thresholds must fall from the best grade to the worst"
    assert _refusals(_rule(), _rule()) == [("rules", "two rules are named 'r'")]


def test_a_rule_on_an_unknown_event_or_property_is_refused_with_the_reason(
    session: Session, ctx: Context
) -> None:
    ada = make_contact(session, ctx)
    track(session, ctx, ada.id, "Page Viewed", path="/")
    definition = read_definition(
        {
            "name": "engagement",
            "rules": [
                _rule(condition={"event": "page viewed"}),
                _rule(name="plan", condition={"property": "plan", "operator": "equals", "value": "pro"}),
                _rule(name="views", condition={"event": "Page Viewed"}),
            ],
        }
    )

    with pytest.raises(InvalidInput) as refused:
        create_model(session, ctx, definition)

    assert [(e.field, e.message) for e in refused.value.errors] == [
        (
            "rules[0].condition",
            "no event named 'page viewed' has been recorded yet; did you mean 'Page Viewed'? Event names match exactly",
        ),
        ("rules[1].condition", "no contact property is named 'plan' yet"),
    ]
    assert session.scalar(select(func.count()).select_from(ScoreModel)) == 0
