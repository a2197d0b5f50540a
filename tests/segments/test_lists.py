"""A marketer keeps a static list; every addition and removal is an event in the log."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.errors import Conflict, NotFound
from funnelwise.segments.lists import add_members, create_list, get_list, list_id_named, remove_members
from funnelwise.segments.schemas import ListIn
from tests.factories import make_contact
from tests.segments.support import logged

T0 = "2026-11-22T01:00:00+00:00"


def test_adding_twice_logs_one_addition_and_removing_logs_a_removal(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)
    vip = create_list(session, ctx, ListIn(name="VIP"))

    first = add_members(session, ctx, vip.id, [ada.id, 424242])
    again = add_members(session, ctx, vip.id, [ada.id])
    clock.advance(timedelta(hours=1))
    removed = remove_members(session, ctx, vip.id, [ada.id])
    session.commit()

    later = "2026-11-22T02:00:00+00:00"
    properties = {"list_id": vip.id, "list_name": "VIP"}
    assert (first.changed, first.unchanged, first.not_found) == (1, 0, ["424242"])
    assert (again.changed, again.unchanged) == (0, 1)
    assert (removed.changed, removed.unchanged) == (1, 0)
    assert logged(session, "List Added", "List Removed") == [
        (f"list-{vip.id}-{ada.id}-added-{T0}", ada.id, properties, T0),
        (f"list-{vip.id}-{ada.id}-removed-{later}", ada.id, properties, later),
    ]
    assert get_list(session, vip.id).member_count == 0


def test_lists_are_found_by_name_or_id_and_names_are_unique(session: Session, ctx: Context) -> None:
    vip = create_list(session, ctx, ListIn(name="VIP"))
    numbered = create_list(session, ctx, ListIn(name="2026"))
    session.commit()

    assert list_id_named(session, "VIP") == vip.id
    assert list_id_named(session, "2026") == numbered.id
    assert list_id_named(session, str(vip.id)) == vip.id
    with pytest.raises(NotFound, match="list 'Nope' not found"):
        list_id_named(session, "Nope")
    with pytest.raises(Conflict, match="name: a list named 'VIP' exists already"):
        create_list(session, ctx, ListIn(name="VIP"))
