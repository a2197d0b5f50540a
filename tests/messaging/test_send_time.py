"""Each contact's best hour comes from when they opened and clicked, in their own timezone."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.messaging.send_time import best_hours, next_best_time, population_best_hour
from funnelwise.tracking.log import SystemEvent, record_events
from tests.factories import make_contact
from tests.messaging.broadcasts.support import with_settings

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


def _engaged(session: Session, contact_id: int, name: str, *moments: datetime) -> None:
    record_events(
        session,
        [SystemEvent(f"test-{uuid.uuid4()}", contact_id, name, at.astimezone(UTC), {}) for at in moments],
    )
    session.commit()


def _local(tz: ZoneInfo, day: int, hour: int, minute: int = 15, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=tz)


def test_a_contacts_best_hour_is_where_most_of_their_opens_and_clicks_fell_in_their_timezone(
    session: Session, ctx: Context
) -> None:
    # New York: 14:xx local is 19:xx UTC in November and 18:xx UTC in summer; both count as 14.
    ny = make_contact(session, ctx, timezone="America/New_York").id
    _engaged(session, ny, "Email Opened", _local(NEW_YORK, 10, 14), _local(NEW_YORK, 12, 14, 50))
    _engaged(session, ny, "Email Clicked", _local(NEW_YORK, 3, 14, month=7))
    _engaged(session, ny, "Email Opened", _local(NEW_YORK, 11, 9))
    # No timezone of their own: the settings' (Seoul).
    seoul = make_contact(session, ctx).id
    _engaged(session, seoul, "SMS Clicked", *(_local(SEOUL, day, 21) for day in (1, 5, 9)))
    _engaged(session, seoul, "Email Sent", *(_local(SEOUL, day, 8) for day in (1, 5, 9, 12)))

    assert best_hours(session, [ny, seoul], ctx.clock.now(), ctx.settings) == {ny: 14, seoul: 21}


def test_a_tie_goes_to_the_hour_of_the_latest_engagement(session: Session, ctx: Context) -> None:
    ada = make_contact(session, ctx).id
    _engaged(session, ada, "Email Opened", _local(SEOUL, 1, 7), _local(SEOUL, 20, 19), _local(SEOUL, 10, 12))

    assert best_hours(session, [ada], ctx.clock.now(), ctx.settings) == {ada: 19}


def test_contacts_with_little_history_get_the_populations_best_hour(session: Session, ctx: Context) -> None:
    regulars = [make_contact(session, ctx).id for _ in range(3)]
    for contact_id in regulars:
        _engaged(
            session,
            contact_id,
            "Email Opened",
            _local(SEOUL, 2, 20),
            _local(SEOUL, 3, 20),
            _local(SEOUL, 4, 9),
        )
    newcomer = make_contact(session, ctx).id
    _engaged(session, newcomer, "Email Opened", _local(SEOUL, 5, 7), _local(SEOUL, 6, 7))
    # Opens older than the 180 days do not count.
    stranger = make_contact(session, ctx).id
    long_ago = ctx.clock.now() - timedelta(days=181)
    _engaged(session, stranger, "Email Opened", *(long_ago - timedelta(days=d) for d in range(5)))
    now = ctx.clock.now()

    found = best_hours(session, [*regulars, newcomer, stranger], now, ctx.settings)

    assert found == {regulars[0]: 20, regulars[1]: 20, regulars[2]: 20, newcomer: 20, stranger: 20}
    assert population_best_hour(session, now, ctx.settings) == 20
    assert best_hours(session, [newcomer], now, ctx.settings, population=11) == {newcomer: 11}


def test_with_no_history_at_all_the_default_hour(session: Session, ctx: Context) -> None:
    ada = make_contact(session, ctx).id

    assert best_hours(session, [ada], ctx.clock.now(), ctx.settings) == {ada: 10}
    assert best_hours(
        session, [ada], ctx.clock.now(), with_settings(ctx, send_time_default_hour=18).settings
    ) == {ada: 18}
    assert best_hours(session, [], ctx.clock.now(), ctx.settings) == {}


def test_the_next_best_time_is_later_today_tomorrow_or_now_within_the_hour() -> None:
    now = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)  # 10:30 in Seoul

    assert next_best_time(now, SEOUL, 10) == now
    assert next_best_time(now, SEOUL, 14) == datetime(2026, 11, 22, 5, 0, tzinfo=UTC)
    assert next_best_time(now, SEOUL, 9) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    # 02:00 does not exist in New York on 8 March 2026: the first moment after the gap.
    before_gap = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    assert next_best_time(before_gap, NEW_YORK, 2) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
