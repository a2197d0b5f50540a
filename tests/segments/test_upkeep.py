"""Membership follows each contact's events at once, and follows time by a periodic refresh."""

from datetime import timedelta

from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.segments.lists import add_members, create_list
from funnelwise.segments.schemas import ListIn, SegmentIn
from funnelwise.segments.service import create_segment
from funnelwise.segments.upkeep import refresh_all, refresh_segment, update_memberships
from tests.factories import make_contact
from tests.segments.support import logged, stays, track

PRICING = {"event": "Page Viewed", "where": [{"property": "path", "operator": "starts_with", "value": "/pricing"}],
           "within_last_days": 14}  # fmt: skip
T0 = "2026-11-22T01:00:00+00:00"


def _segment(session: Session, ctx: Context, name: str, condition: dict) -> int:
    saved = create_segment(session, ctx, SegmentIn(name=name, condition=condition))
    session.commit()
    return saved.segment.id


def test_a_contact_enters_when_its_own_event_arrives_and_the_entry_is_logged_once(
    session: Session, ctx: Context
) -> None:
    segment_id = _segment(session, ctx, "Pricing viewers", PRICING)
    ada = make_contact(session, ctx, email="ada@example.org")
    track(session, ctx, ada.id, "Page Viewed", path="/pricing/teams")

    changes = update_memberships(session, ctx, [ada.id])
    again = update_memberships(session, ctx, [ada.id])
    session.commit()

    assert [(c.segment_id, c.segment_name, c.contact_id, c.change, c.at.isoformat()) for c in changes] == [
        (segment_id, "Pricing viewers", ada.id, "entered", T0)
    ]
    assert again == []
    assert stays(session, segment_id) == [(ada.id, T0, None)]
    assert logged(session, "Segment Entered", "Segment Exited") == [
        (
            f"segment-{segment_id}-{ada.id}-entered-{T0}",
            ada.id,
            {"segment_id": segment_id, "segment_name": "Pricing viewers"},
            T0,
        )
    ]


def test_upkeep_decides_only_the_contacts_it_is_given(session: Session, ctx: Context) -> None:
    segment_id = _segment(session, ctx, "Pricing viewers", PRICING)
    ada = make_contact(session, ctx)
    bob = make_contact(session, ctx)
    track(session, ctx, ada.id, "Page Viewed", path="/pricing")
    track(session, ctx, bob.id, "Page Viewed", path="/pricing")

    update_memberships(session, ctx, [bob.id, 987654])
    session.commit()

    assert stays(session, segment_id) == [(bob.id, T0, None)]


def test_time_alone_moves_a_contact_out_at_the_next_refresh_and_history_keeps_every_stay(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    segment_id = _segment(session, ctx, "Pricing viewers", PRICING)
    ada = make_contact(session, ctx)
    track(session, ctx, ada.id, "Page Viewed", path="/pricing")
    update_memberships(session, ctx, [ada.id])
    session.commit()

    clock.advance(timedelta(days=15))
    left = refresh_segment(session, ctx, segment_id)
    clock.advance(timedelta(days=1))
    track(session, ctx, ada.id, "Page Viewed", path="/pricing")
    update_memberships(session, ctx, [ada.id])
    session.commit()

    exited_at = "2026-12-07T01:00:00+00:00"
    back_at = "2026-12-08T01:00:00+00:00"
    assert (left.entered, left.exited, left.members) == (0, 1, 0)
    assert stays(session, segment_id) == [(ada.id, T0, exited_at), (ada.id, back_at, None)]
    assert [(m, name) for m, _c, _p, name in logged(session, "Segment Entered", "Segment Exited")] == [
        (f"segment-{segment_id}-{ada.id}-entered-{T0}", T0),
        (f"segment-{segment_id}-{ada.id}-exited-{exited_at}", exited_at),
        (f"segment-{segment_id}-{ada.id}-entered-{back_at}", back_at),
    ]


def test_a_refresh_enters_everyone_who_matches_and_a_second_refresh_changes_nothing(
    session: Session, ctx: Context
) -> None:
    ada = make_contact(session, ctx, lifecycle_stage="mql")
    bob = make_contact(session, ctx, lifecycle_stage="lead")
    cho = make_contact(session, ctx, lifecycle_stage="mql")
    segment_id = _segment(
        session, ctx, "MQLs", {"property": "lifecycle_stage", "operator": "equals", "value": "mql"}
    )
    entered = stays(session, segment_id)

    again = refresh_all(session, ctx)

    assert entered == [(ada.id, T0, None), (cho.id, T0, None)]
    assert [(r.segment_name, r.entered, r.exited, r.members) for r in again] == [("MQLs", 0, 0, 2)]
    assert sorted(c for _m, c, _p, _at in logged(session, "Segment Entered")) == [ada.id, cho.id]
    assert bob.id not in [c for c, _e, _x in stays(session, segment_id)]


def test_a_segment_can_leave_out_a_static_list_and_follow_another_segment(
    session: Session, ctx: Context
) -> None:
    ada = make_contact(session, ctx, lifecycle_stage="customer")
    bob = make_contact(session, ctx, lifecycle_stage="customer")
    customers = _segment(
        session, ctx, "Customers", {"property": "lifecycle_stage", "operator": "equals", "value": "customer"}
    )
    staff = create_list(session, ctx, ListIn(name="Staff"))
    session.commit()
    mailable = _segment(session, ctx, "Mailable customers",
                        {"all": [{"in_segment": "Customers"}, {"not": {"in_list": "Staff"}}]})  # fmt: skip

    add_members(session, ctx, staff.id, [bob.id])
    changes = update_memberships(session, ctx, [ada.id, bob.id])
    session.commit()

    assert [(c.segment_id, c.contact_id, c.change) for c in changes] == [(mailable, bob.id, "exited")]
    assert [c for c, _e, exited in stays(session, mailable) if exited is None] == [ada.id]
    assert [c for c, _e, _x in stays(session, customers)] == [ada.id, bob.id]
