"""`in_list` and `in_segment` give the same answer in SQL and in memory, by id or by name."""

from dataclasses import replace

import pytest
from sqlalchemy.orm import Session

from funnelwise.conditions import evaluate, load_facts, matching_contacts, parse_condition
from funnelwise.context import Context
from funnelwise.errors import FieldError, InvalidInput
from funnelwise.segments.lists import add_members, create_list
from funnelwise.segments.schemas import ListIn, SegmentIn
from funnelwise.segments.service import create_segment
from tests.factories import make_contact


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"in_list": "Staff"}, "bob cho"),
        ({"not": {"in_list": "Staff"}}, "ada"),
        ({"in_list": "No such list"}, ""),
        ({"not": {"in_list": "No such list"}}, "ada bob cho"),
        ({"in_segment": "MQLs"}, "ada bob"),
        ({"all": [{"in_segment": "MQLs"}, {"not": {"in_list": "Staff"}}]}, "ada"),
    ],
)
def test_both_evaluators_agree_on_list_and_segment_leaves(
    session: Session, ctx: Context, condition: dict, expected: str
) -> None:
    ada = make_contact(session, ctx, lifecycle_stage="mql")
    bob = make_contact(session, ctx, lifecycle_stage="mql")
    cho = make_contact(session, ctx, lifecycle_stage="lead")
    staff = create_list(session, ctx, ListIn(name="Staff"))
    add_members(session, ctx, staff.id, [bob.id, cho.id])
    mqls = create_segment(session, ctx, SegmentIn(name="MQLs", condition={
        "property": "lifecycle_stage", "operator": "equals", "value": "mql"}))  # fmt: skip
    session.commit()
    tree = parse_condition(condition)
    by_id = parse_condition(_with_ids(condition, staff.id, mqls.segment.id))
    extra = {
        ada.id: {"lists": set(), "segments": {mqls.segment.id, "MQLs"}},
        bob.id: {"lists": {staff.id, "Staff"}, "segments": {mqls.segment.id, "MQLs"}},
        cho.id: {"lists": {staff.id, "Staff"}, "segments": set()},
    }
    now, tz = ctx.clock.now(), ctx.settings.tz

    in_sql = matching_contacts(session, tree, now, tz)
    in_memory = [c for c in (ada.id, bob.id, cho.id)
                 if evaluate(tree, replace(load_facts(session, c), extra=extra[c]), now, tz)]  # fmt: skip

    names = {ada.id: "ada", bob.id: "bob", cho.id: "cho"}
    assert " ".join(names[c] for c in in_sql) == expected
    assert in_memory == in_sql
    assert matching_contacts(session, by_id, now, tz) == in_sql


def test_a_list_reference_is_a_whole_number_or_a_name() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_condition({"any": [{"in_list": True}, {"in_segment": ""}]})

    assert refused.value.errors == [
        FieldError("any[0].in_list", "expected an id (a whole number) or a name"),
        FieldError("any[1].in_segment", "expected an id (a whole number) or a name"),
    ]


def _with_ids(condition: object, list_id: int, segment_id: int) -> object:
    if isinstance(condition, dict):
        swapped = {"Staff": list_id, "MQLs": segment_id}
        return {k: swapped.get(v, v) if k in ("in_list", "in_segment") else _with_ids(v, list_id, segment_id)
                for k, v in condition.items()}  # fmt: skip
    if isinstance(condition, list):
        return [_with_ids(item, list_id, segment_id) for item in condition]
    return condition
