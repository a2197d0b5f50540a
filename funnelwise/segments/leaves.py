"""The condition leaves this package adds: `in_list` and `in_segment`, by id or by name.

`{in_list: 3}` names a list by id, `{in_list: VIP}` by name; likewise `in_segment`. A name that no
list has matches no contact, in SQL and in memory alike. In memory the leaves read
`facts.extra["lists"]` and `facts.extra["segments"]`: the ids and names of the contact's lists and
of the segments it is a member of now (see `upkeep.member_facts`).
"""

from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from sqlalchemy import ColumnElement, exists, select

from funnelwise.conditions import Condition, Facts, Moment, SqlScope, register_leaf
from funnelwise.segments.models import Segment, SegmentMembership, StaticList, StaticListMember


def _reference(value: Any) -> Any:
    # bool is an int to Python, and True would quietly name list 1.
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "" or len(str(value)) > 255:
        # The "condition" type makes parse_condition show the message as it is, by its path.
        raise PydanticCustomError("condition", "expected an id (a whole number) or a name")
    return value


Reference = Annotated[int | str, BeforeValidator(_reference)]


class InList(Condition):
    """The contact is on a static list."""

    in_list: Reference


class InSegment(Condition):
    """The contact is a member of a segment now."""

    in_segment: Reference


def _in_list_sql(leaf: InList, scope: SqlScope) -> ColumnElement[bool]:
    members = StaticListMember.__table__.c
    if isinstance(leaf.in_list, int):
        list_id = leaf.in_list
    else:
        list_id = select(StaticList.id).where(StaticList.name == leaf.in_list).scalar_subquery()
    return exists(select(1).where(members.list_id == list_id, members.contact_id == scope.contact_id))


def _in_segment_sql(leaf: InSegment, scope: SqlScope) -> ColumnElement[bool]:
    stays = SegmentMembership.__table__.c
    if isinstance(leaf.in_segment, int):
        segment_id = leaf.in_segment
    else:
        segment_id = select(Segment.id).where(Segment.name == leaf.in_segment).scalar_subquery()
    return exists(
        select(1).where(
            stays.segment_id == segment_id, stays.contact_id == scope.contact_id, stays.exited_at.is_(None)
        )
    )


def _in_list(leaf: InList, facts: Facts, _moment: Moment) -> bool:
    return leaf.in_list in facts.extra.get("lists", ())


def _in_segment(leaf: InSegment, facts: Facts, _moment: Moment) -> bool:
    return leaf.in_segment in facts.extra.get("segments", ())


register_leaf("in_list", InList, _in_list_sql, _in_list)
register_leaf("in_segment", InSegment, _in_segment_sql, _in_segment)
