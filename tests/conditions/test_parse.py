"""Reading trees from JSON and YAML: bad nodes are refused by path, with a reason a marketer can read."""

from datetime import UTC, date, datetime

import pytest
from pydantic import BaseModel, ValidationError

from funnelwise.conditions import ConditionField, dump_condition, parse_condition, parse_condition_yaml
from funnelwise.conditions.tree import All, ContactProperty, EventCondition, Not
from funnelwise.errors import FieldError, InvalidInput


def _errors(data: object) -> list[FieldError]:
    with pytest.raises(InvalidInput) as refused:
        parse_condition(data)
    return refused.value.errors


def test_a_yaml_segment_reads_into_a_tree() -> None:
    tree = parse_condition_yaml(
        """
        all:
          - property: job_level
            operator: in
            value: [head, executive]
          - not:
              event: Order Completed
              within_last_days: 30
        """
    )

    assert tree == All(
        all=(
            ContactProperty(property="job_level", operator="in", value=["head", "executive"]),
            Not(negated=EventCondition(event="Order Completed", within_last_days=30)),
        )
    )


def test_dates_written_as_text_in_json_are_dates() -> None:
    tree = parse_condition(
        {"property": "renewal_at", "operator": "between", "value": ["2026-01-01", "2026-03-31"]}
    )

    assert tree == ContactProperty(
        property="renewal_at", operator="between", value=[date(2026, 1, 1), date(2026, 3, 31)]
    )


def test_a_date_time_is_kept_in_utc_to_the_second() -> None:
    tree = parse_condition(
        {"property": "created_at", "operator": "gt", "value": "2026-03-01T09:30:15.250+09:00"}
    )

    assert isinstance(tree, ContactProperty)
    assert tree.value == datetime(2026, 3, 1, 0, 30, 15, tzinfo=UTC)
    assert dump_condition(tree) == {
        "property": "created_at",
        "operator": "gt",
        "value": "2026-03-01T00:30:15Z",
    }


def test_an_unknown_operator_is_named_with_its_path_and_the_choices() -> None:
    errors = _errors(
        {
            "all": [
                {"property": "plan", "operator": "equals", "value": "pro"},
                {
                    "any": [
                        {
                            "event": "Page Viewed",
                            "where": [{"property": "path", "operator": "more_than", "value": 1}],
                        }
                    ]
                },
            ]
        }
    )

    assert errors == [
        FieldError(
            "all[1].any[0].where[0].operator",
            "unknown operator 'more_than'; expected one of 'equals', 'not_equals', 'in', 'not_in', 'contains', "
            "'not_contains', 'starts_with', 'gt', 'gte', 'lt', 'lte', 'between', 'is_set', 'is_not_set', "
            "'within_last_days', 'more_than_days_ago', 'days_ago' or 'anniversary_today'",
        )
    ]


def test_every_bad_node_is_reported_not_only_the_first() -> None:
    errors = _errors(
        {
            "any": [
                {"property": "Job Level", "operator": "is_set"},
                {"property": "email", "operator": "gt", "value": 5},
                {"company": "size_band", "operator": "in", "value": []},
                {"event": "Order Completed", "performed": "at_least", "times": 0},
                "vip",
            ]
        }
    )

    assert errors == [
        FieldError(
            "any[0].property", "'Job Level' is not a property name (lower-case letters, digits and _)"
        ),
        FieldError(
            "any[1]",
            "'email' holds text; 'gt' does not apply (use one of contains, equals, in, is_not_set, is_set, "
            "not_contains, not_equals, not_in, starts_with)",
        ),
        FieldError("any[2].value", "'in' needs at least one value"),
        FieldError("any[3]", "'at_least' needs times of 1 or more (at least 0 is everyone)"),
        FieldError("any[4]", "expected a condition (a mapping), got 'vip'"),
    ]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"property": "plan", "operator": "equals"},
            FieldError("value", "'equals' needs a value"),
        ),
        (
            {"property": "plan", "operator": "is_set", "value": "pro"},
            FieldError("value", "'is_set' takes no value"),
        ),
        (
            {"property": "birthday", "operator": "within_last_days", "value": "30"},
            FieldError("value", "expected a whole number of days from 0 to 36600, got '30'"),
        ),
        (
            {"property": "ltv", "operator": "between", "value": [300, 100]},
            FieldError("value", "'between' needs the lower value first, got [300, 100]"),
        ),
        (
            {"property": "ltv", "operator": "gt", "value": "lots"},
            FieldError("value", "expected a number or a date such as '2026-03-01', got 'lots'"),
        ),
        (
            {"property": "plan", "operator": "equals", "value": "pro", "note": "x"},
            FieldError("note", "unknown key 'note'; this condition takes operator, value, property"),
        ),
        (
            {"property": "plan", "company": "tier", "operator": "is_set"},
            FieldError("condition", "a condition is one thing; found 'property' and 'company'"),
        ),
        (
            {"segment": "vip"},
            FieldError(
                "condition",
                "a condition needs one of the keys aggregate, all, any, company, consent, event, first_time, grade, in_list, "
                "in_segment, last_time, not, property, score; got 'segment'",
            ),
        ),
        (
            {
                "aggregate": "total",
                "of": "revenue",
                "event": "Order Completed",
                "operator": "gte",
                "value": 1,
            },
            FieldError(
                "aggregate",
                "unknown aggregate 'total'; expected one of 'sum', 'avg', 'min', 'max' or 'count_distinct'",
            ),
        ),
        (
            {
                "aggregate": "sum",
                "of": "revenue",
                "event": "Order Completed",
                "operator": "contains",
                "value": "1",
            },
            FieldError(
                "operator",
                "'contains' does not apply to an aggregate; expected one of between, equals, gt, gte, lt, lte, not_equals",
            ),
        ),
        (
            {"last_time": "Order Completed", "operator": "gt", "value": 5},
            FieldError("value", "expected a date such as '2026-03-01', got int 5"),
        ),
        (
            {"event": "Order Completed", "within_last_days": 30, "between": ["2026-01-01", "2026-02-01"]},
            FieldError("condition", "give either within_last_days or between, not both"),
        ),
        (
            {"event": "Order Completed", "where": [{"property": 'a"b', "operator": "is_set"}]},
            FieldError(
                "where[0].property",
                "'a\"b' is not an event property name (1 to 255 characters, no double quotes)",
            ),
        ),
        (
            {"property": "created_at", "operator": "gt", "value": datetime(2026, 3, 1, 9)},
            FieldError("value", "the date-time 2026-03-01T09:00:00 needs its offset, such as +09:00"),
        ),
        (
            {"consent": "fax"},
            FieldError("consent", "unknown consent 'fax'; expected one of 'email', 'sms', 'kakao' or 'push'"),
        ),
    ],
)
def test_a_bad_leaf_is_refused_with_a_readable_reason(data: dict, error: FieldError) -> None:
    assert _errors(data) == [error]


def test_a_tree_nested_too_deep_is_refused() -> None:
    data: dict = {"property": "plan", "operator": "is_set"}
    for _ in range(40):
        data = {"not": data}

    [error] = _errors(data)

    assert error.message == "conditions nest at most 32 deep"


def test_bad_yaml_is_refused_as_input() -> None:
    with pytest.raises(InvalidInput, match="condition: not valid YAML"):
        parse_condition_yaml("all: [")


class _Segment(BaseModel):
    name: str
    condition: ConditionField


def test_a_condition_is_a_field_of_another_model() -> None:
    segment = _Segment.model_validate(
        {"name": "VIP", "condition": {"property": "ltv", "operator": "gte", "value": 300000}}
    )

    assert segment.condition == ContactProperty(property="ltv", operator="gte", value=300000)
    assert segment.model_dump() == {
        "name": "VIP",
        "condition": {"property": "ltv", "operator": "gte", "value": 300000},
    }


def test_a_bad_condition_field_reports_the_paths_inside_it() -> None:
    with pytest.raises(ValidationError, match=r"all\[0\]\.value: 'in' needs at least one value"):
        _Segment.model_validate(
            {"name": "VIP", "condition": {"all": [{"property": "plan", "operator": "in", "value": []}]}}
        )
