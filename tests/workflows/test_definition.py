"""A marketer writes a definition; every mistake comes back with the path of the bad node and why."""

import pytest

from funnelwise.errors import FieldError, InvalidInput
from funnelwise.workflows.definition import dump_definition, read_definition
from funnelwise.workflows.graph import check_graph
from tests.workflows.support import CART, NURTURE, template, welcome


def errors_of(data: dict) -> list[FieldError]:
    with pytest.raises(InvalidInput) as refused:
        read_definition(data)
    return refused.value.errors


def test_both_templates_read_and_dump_back_to_the_same_definition() -> None:
    for path in (NURTURE, CART):
        definition = read_definition(template(path))
        assert read_definition(dump_definition(definition)) == definition
        assert check_graph(definition).errors == []
        assert check_graph(definition).warnings == []


def test_a_wait_of_negative_or_zero_length_is_refused_at_its_step() -> None:
    steps = welcome()["steps"]
    negative = [steps[0], {**steps[1], "duration": "-1d"}, steps[2]]
    zero = [steps[0], {**steps[1], "duration": "0h"}, steps[2]]

    assert errors_of(welcome(steps=negative)) == [
        FieldError("steps[1].duration", "'-1d' is a negative length of time; a wait must be longer than zero")
    ]
    assert errors_of(welcome(steps=zero)) == [
        FieldError("steps[1].duration", "'0h' is no time at all; a wait must be longer than zero")
    ]


def test_an_unknown_step_type_and_channel_are_named_with_what_is_allowed() -> None:
    steps = welcome()["steps"]
    bad = [{**steps[0], "channel": "fax"}, {"id": "pause", "type": "sleep"}, steps[2]]

    found = errors_of(welcome(steps=bad))

    assert found[0] == FieldError(
        "steps[0].channel",
        "unknown channel 'fax'; expected one of 'email', 'sms', 'kakao', 'kakao_brand', 'push' or 'webhook'",
    )
    assert found[1].field == "steps[1].type"
    assert found[1].message.startswith("unknown type 'sleep'; expected one of 'send', 'wait', 'wait_until'")


def test_a_bad_cron_schedule_names_the_field_at_fault() -> None:
    trigger = {"type": "schedule", "cron": "0 25 * * mon", "segment": "vip"}

    assert errors_of(welcome(trigger=trigger)) == [
        FieldError("trigger.cron", "the hour '25' is out of range; expected 0 to 23")
    ]
    assert (
        read_definition(welcome(trigger=trigger | {"cron": "0  10 * *  mon-fri"})).trigger.cron
        == "0 10 * * mon-fri"
    )


def test_a_step_that_goes_to_a_missing_step_is_a_dangling_reference() -> None:
    steps = welcome()["steps"]
    dangling = [steps[0], {**steps[1], "next": "tips"}, steps[2]]

    check = check_graph(read_definition(welcome(steps=dangling)))

    assert check.errors == [
        FieldError("steps[1].next", "step 'pause' goes to 'tips', but no step has that id")
    ]


def test_a_loop_without_a_wait_is_refused_and_a_loop_through_a_wait_is_not() -> None:
    loop = [
        {"id": "hello", "type": "send", "channel": "email", "template": "welcome", "next": "count"},
        {"id": "count", "type": "increment_property", "property": "visits", "next": "hello"},
    ]
    waited = [
        *loop[:1],
        {**loop[1], "next": "pause"},
        {"id": "pause", "type": "wait", "duration": "7d", "next": "hello"},
    ]

    assert check_graph(read_definition(welcome(steps=loop))).errors == [
        FieldError(
            "steps[1].next",
            "the steps hello → count → hello go round in a loop without a wait; "
            "a contact would repeat them forever at once",
        )
    ]
    assert check_graph(read_definition(welcome(steps=waited))).errors == []


def test_a_step_nothing_leads_to_is_a_warning() -> None:
    steps = [*welcome()["steps"], {"id": "orphan", "type": "exit"}]

    check = check_graph(read_definition(welcome(steps=steps)))

    assert check.errors == []
    assert check.warnings == [
        FieldError("steps[3]", "no step leads to step 'orphan', so no contact will ever reach it")
    ]


def test_a_bad_condition_in_a_branch_is_named_by_its_full_path() -> None:
    from funnelwise.workflows.definition import parsed_conditions

    steps = [
        {"id": "check", "type": "split", "branches": [
            {"name": "big", "condition": {"all": [{"property": "size", "operator": "more", "value": 3}]}}]},
    ]  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        parsed_conditions(read_definition(welcome(steps=steps)))

    assert [e.field for e in refused.value.errors] == ["steps[0].branches[0].condition.all[0].operator"]
    assert refused.value.errors[0].message.startswith("unknown operator 'more'; expected one of 'equals'")


def test_two_steps_with_one_id_are_refused_at_the_second() -> None:
    steps = [*welcome()["steps"], {"id": "hello", "type": "exit"}]

    assert check_graph(read_definition(welcome(steps=steps))).errors == [
        FieldError("steps[3].id", "step id 'hello' is used by steps[0] too")
    ]


def test_splits_stages_and_increments_refuse_what_cannot_work() -> None:
    steps = [
        {"id": "test", "type": "ab_split", "variants": [{"name": "a", "weight": 0}], "holdout": 100},
        {"id": "stage", "type": "set_lifecycle_stage", "stage": "prospect"},
        {"id": "count", "type": "increment_property", "property": "visits", "by": 0},
        {"id": "hold", "type": "wait_until"},
    ]

    found = {error.field: error.message for error in errors_of(welcome(steps=steps))}

    assert found["steps[0].variants[0].weight"] == "Input should be greater than or equal to 1"
    assert found["steps[0].holdout"] == "Input should be less than 100"
    assert found["steps[1].stage"].startswith(
        "unknown stage 'prospect'; expected one of 'subscriber', 'lead'"
    )
    assert found["steps[2]"] == "increment_property by 0 changes nothing"
    assert found["steps[3]"] == "wait_until needs a date_property, a time or weekdays"
    assert len(found) == 5
