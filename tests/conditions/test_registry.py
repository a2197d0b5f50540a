"""A later package adds a leaf kind: its model, its SQL and its in-memory test, used like built-in leaves."""

from collections.abc import Iterator

import pytest
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from funnelwise.conditions import (
    Condition,
    Facts,
    SqlScope,
    dump_condition,
    evaluate,
    matching_contacts,
    parse_condition,
    register_leaf,
    unregister_leaf,
)
from funnelwise.conditions.relative_time import Moment
from funnelwise.errors import FieldError, InvalidInput
from tests.conditions.population import SEOUL, PersonData, store
from tests.conftest import START


class InStaticList(Condition):
    """A stand-in for static lists: the ids are in the leaf instead of a members table."""

    in_static_list: tuple[int, ...]


def _to_sql(leaf: InStaticList, scope: SqlScope) -> ColumnElement[bool]:
    return scope.contact_id.in_(leaf.in_static_list)


def _evaluate(leaf: InStaticList, facts: Facts, moment: Moment) -> bool:
    return facts.contact["id"] in leaf.in_static_list


@pytest.fixture
def static_lists() -> Iterator[None]:
    register_leaf("in_static_list", InStaticList, _to_sql, _evaluate)
    yield
    unregister_leaf("in_static_list")


def test_a_registered_leaf_combines_with_built_in_leaves_in_both_evaluators(
    session: Session, static_lists: None
) -> None:
    facts = store(
        session,
        [],
        [PersonData({"created_at": START}, {"plan": plan}) for plan in ("pro", "pro", "basic")],
    )
    ids = [fact.contact["id"] for fact in facts]
    tree = parse_condition(
        {
            "all": [
                {"in_static_list": [ids[0], ids[2]]},
                {"not": {"property": "plan", "operator": "equals", "value": "basic"}},
            ]
        }
    )

    assert matching_contacts(session, tree, START, SEOUL) == [ids[0]]
    assert [fact.contact["id"] for fact in facts if evaluate(tree, fact, START, SEOUL)] == [ids[0]]
    assert dump_condition(tree) == {
        "all": [
            {"in_static_list": [ids[0], ids[2]]},
            {"not": {"property": "plan", "operator": "equals", "value": "basic"}},
        ]
    }


def test_a_registered_leaf_is_refused_by_path_like_any_other(static_lists: None) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_condition({"any": [{"in_static_list": "vip"}]})

    assert refused.value.errors == [FieldError("any[0].in_static_list", "Input should be a valid tuple")]


def test_a_key_can_be_registered_once_and_never_over_a_built_in_one(static_lists: None) -> None:
    with pytest.raises(ValueError, match="the condition key 'in_static_list' is taken"):
        register_leaf("in_static_list", InStaticList, _to_sql, _evaluate)
    with pytest.raises(ValueError, match="the condition key 'event' is taken"):
        register_leaf("event", InStaticList, _to_sql, _evaluate)


def test_a_leaf_model_must_carry_its_key() -> None:
    with pytest.raises(ValueError, match="InStaticList must have a field named 'segment'"):
        register_leaf("segment", InStaticList, _to_sql, _evaluate)


def test_an_unregistered_key_is_unknown_again() -> None:
    with pytest.raises(InvalidInput, match="a condition needs one of the keys"):
        parse_condition({"in_static_list": [1]})
