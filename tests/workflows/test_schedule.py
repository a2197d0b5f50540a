"""Time-driven triggers: cron schedules enroll a segment, date properties enroll on their day."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.reactions.periodic import run_periodic
from funnelwise.segments.schemas import SegmentIn
from funnelwise.segments.service import create_segment
from funnelwise.workflows.cron import parse_cron
from funnelwise.workflows.engine import run_all_due
from funnelwise.workflows.models import Enrollment, ScheduleFiring
from funnelwise.workflows.schedule import anniversary, fire_due_schedules
from funnelwise.workflows.service import apply_workflow, pause_workflow, resume_workflow
from tests.factories import make_contact, make_property

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


def seoul(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SEOUL)


def start(session: Session, ctx: Context, definition: dict) -> int:
    workflow = apply_workflow(session, ctx, definition, allow_unknown=True).workflow
    resume_workflow(session, ctx, workflow.id)
    session.commit()
    return workflow.id


def journey(name: str, trigger: dict, template: str, **settings: object) -> dict:
    return {
        "name": name,
        "trigger": trigger,
        "steps": [{"id": "send", "type": "send", "channel": "email", "template": template}],
        "settings": settings,
    }


def enrollments(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    with sessions() as session:
        rows = session.execute(select(Enrollment.contact_id, Enrollment.trigger_key).order_by(Enrollment.id))
        return [tuple(row) for row in rows]


def firings(sessions: sessionmaker[Session]) -> list[tuple[str, int]]:
    with sessions() as session:
        rows = session.execute(
            select(ScheduleFiring.key, ScheduleFiring.enrolled).order_by(ScheduleFiring.id)
        )
        return [tuple(row) for row in rows]


def at(sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock, moment: datetime) -> int:
    """The worker's tick at `moment`: time triggers fire, then the engine runs what they enrolled."""
    clock.set(moment)
    enrolled = fire_due_schedules(sessions, ctx)
    run_all_due(sessions, ctx)
    return enrolled


# Cron expressions.


def fires(expression: str, after: datetime, until: datetime) -> list[str]:
    return [
        t.astimezone(SEOUL).strftime("%a %Y-%m-%d %H:%M")
        for t in parse_cron(expression).fire_times(after, until, SEOUL)
    ]


def test_a_weekly_schedule_fires_on_mondays_at_ten_in_the_installation_timezone() -> None:
    assert fires("0 10 * * mon", seoul(2026, 11, 22, 10), seoul(2026, 12, 8)) == [
        "Mon 2026-11-23 10:00",
        "Mon 2026-11-30 10:00",
        "Mon 2026-12-07 10:00",
    ]


def test_lists_ranges_steps_and_names_expand_as_in_cron() -> None:
    assert fires("*/20 9-10 * * *", seoul(2026, 11, 22), seoul(2026, 11, 22, 23)) == [
        "Sun 2026-11-22 09:00",
        "Sun 2026-11-22 09:20",
        "Sun 2026-11-22 09:40",
        "Sun 2026-11-22 10:00",
        "Sun 2026-11-22 10:20",
        "Sun 2026-11-22 10:40",
    ]
    assert fires("30 8 * jan-feb/1 1,3-4", seoul(2026, 12, 31), seoul(2027, 1, 8)) == [
        "Mon 2027-01-04 08:30",
        "Wed 2027-01-06 08:30",
        "Thu 2027-01-07 08:30",
    ]
    assert fires("0 0 5/10 * *", seoul(2026, 11, 30), seoul(2026, 12, 31)) == [
        "Sat 2026-12-05 00:00",
        "Tue 2026-12-15 00:00",
        "Fri 2026-12-25 00:00",
    ]


def test_weekday_0_and_7_are_sunday() -> None:
    week = (seoul(2026, 11, 22, 12), seoul(2026, 12, 6, 12))
    assert fires("0 12 * * 0", *week) == fires("0 12 * * 7", *week) == fires("0 12 * * sun", *week)
    assert fires("0 12 * * 7", *week) == ["Sun 2026-11-29 12:00", "Sun 2026-12-06 12:00"]
    assert fires("0 12 * * 5-7", *week) == [
        "Fri 2026-11-27 12:00",
        "Sat 2026-11-28 12:00",
        "Sun 2026-11-29 12:00",
        "Fri 2026-12-04 12:00",
        "Sat 2026-12-05 12:00",
        "Sun 2026-12-06 12:00",
    ]


def test_a_day_that_fits_either_the_day_of_month_or_the_weekday_fits_when_both_are_restricted() -> None:
    # The 1st of the month, and every Friday.
    assert fires("0 9 1 * fri", seoul(2026, 11, 27, 10), seoul(2026, 12, 12)) == [
        "Tue 2026-12-01 09:00",
        "Fri 2026-12-04 09:00",
        "Fri 2026-12-11 09:00",
    ]
    # With a `*` weekday, only the 1st.
    assert fires("0 9 1 * *", seoul(2026, 11, 27, 10), seoul(2026, 12, 12)) == ["Tue 2026-12-01 09:00"]
    assert parse_cron("0 9 1 * fri").matches(datetime(2026, 12, 4, 9, 0))
    assert not parse_cron("0 9 1 * *").matches(datetime(2026, 12, 4, 9, 0))


def test_the_last_fire_time_is_the_latest_in_the_window_and_none_when_none_falls_in_it() -> None:
    daily = parse_cron("0 10 * * *")
    assert daily.last_fire_time(seoul(2026, 11, 1), seoul(2026, 11, 8, 15), SEOUL) == seoul(2026, 11, 8, 10)
    assert daily.last_fire_time(seoul(2026, 11, 8, 10), seoul(2026, 11, 9, 9, 59), SEOUL) is None
    assert daily.last_fire_time(seoul(2026, 11, 8, 10), seoul(2026, 11, 9, 10), SEOUL) == seoul(
        2026, 11, 9, 10
    )


def test_a_time_a_daylight_saving_change_skips_does_not_fire_that_day() -> None:
    spring_forward = parse_cron("30 2 * * *").fire_times(
        datetime(2026, 3, 7, tzinfo=NEW_YORK), datetime(2026, 3, 10, tzinfo=NEW_YORK), NEW_YORK
    )
    assert [t.astimezone(NEW_YORK).day for t in spring_forward] == [7, 9]


@pytest.mark.parametrize(
    ("born", "year", "expected"),
    [
        ("2000-02-29", 2027, "2027-02-28"),
        ("2000-02-29", 2028, "2028-02-29"),
        ("1990-03-15", 2027, "2027-03-15"),
    ],
)
def test_a_date_comes_round_on_the_same_day_and_29_february_on_the_28th_in_other_years(
    born: str, year: int, expected: str
) -> None:
    assert anniversary(datetime.fromisoformat(born).date(), year).isoformat() == expected


# Schedules over a segment.


def test_a_monday_schedule_enrolls_the_segments_members_once_per_monday_at_ten(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, last_name="Lee").id
        bo = make_contact(session, ctx, last_name="Lee").id
        make_contact(session, ctx, last_name="Kim")
        vips = {"property": "last_name", "operator": "equals", "value": "Lee"}
        create_segment(session, ctx, SegmentIn(name="VIPs", condition=vips))
        trigger = {"type": "schedule", "cron": "0 10 * * mon", "segment": "VIPs"}
        start(session, ctx, journey("weekly", trigger, "weekly-digest", reenrollment=True))

    assert at(sessions, ctx, clock, seoul(2026, 11, 23, 9, 59)) == 0
    # The worker's periodic tick fires it.
    clock.set(seoul(2026, 11, 23, 10, 0))
    run_periodic(sessions, ctx, full_pass=False)
    assert at(sessions, ctx, clock, seoul(2026, 11, 23, 10, 1)) == 0
    assert at(sessions, ctx, clock, seoul(2026, 11, 29, 23, 59)) == 0
    assert at(sessions, ctx, clock, seoul(2026, 11, 30, 10, 0)) == 2

    first, second = "schedule:2026-11-23T10:00:00+09:00", "schedule:2026-11-30T10:00:00+09:00"
    assert enrollments(sessions) == [(ada, first), (bo, first), (ada, second), (bo, second)]
    assert firings(sessions) == [(first, 2), (second, 2)]


def test_a_worker_that_was_down_for_a_week_fires_a_daily_schedule_once_for_the_latest_time(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, last_name="Lee").id
        vips = {"property": "last_name", "operator": "equals", "value": "Lee"}
        create_segment(session, ctx, SegmentIn(name="VIPs", condition=vips))
        trigger = {"type": "schedule", "cron": "0 10 * * *", "segment": "VIPs"}
        start(session, ctx, journey("daily", trigger, "daily-digest", reenrollment=True))

    assert at(sessions, ctx, clock, seoul(2026, 11, 29, 15, 0)) == 1
    assert at(sessions, ctx, clock, seoul(2026, 11, 29, 15, 1)) == 0

    latest = "schedule:2026-11-29T10:00:00+09:00"
    assert enrollments(sessions) == [(ada, latest)]
    assert firings(sessions) == [(latest, 1)]


def test_a_fire_time_another_worker_claimed_enrolls_nobody_here(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        make_contact(session, ctx, last_name="Lee")
        vips = {"property": "last_name", "operator": "equals", "value": "Lee"}
        create_segment(session, ctx, SegmentIn(name="VIPs", condition=vips))
        trigger = {"type": "schedule", "cron": "0 10 * * mon", "segment": "VIPs"}
        workflow_id = start(session, ctx, journey("weekly", trigger, "weekly-digest"))
        # The other worker's clock ran a little behind ours.
        key = "schedule:2026-11-23T10:00:00+09:00"
        session.add(
            ScheduleFiring(workflow_id=workflow_id, key=key, fired_at=seoul(2026, 11, 23, 9), enrolled=0)
        )
        session.commit()

    assert at(sessions, ctx, clock, seoul(2026, 11, 23, 10, 0)) == 0
    assert enrollments(sessions) == []


def test_a_paused_schedule_does_not_fire_and_resuming_it_does_not_fire_the_times_it_missed(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, last_name="Lee").id
        vips = {"property": "last_name", "operator": "equals", "value": "Lee"}
        create_segment(session, ctx, SegmentIn(name="VIPs", condition=vips))
        trigger = {"type": "schedule", "cron": "0 10 * * *", "segment": "VIPs"}
        workflow_id = start(session, ctx, journey("daily", trigger, "daily-digest", reenrollment=True))
        pause_workflow(session, ctx, workflow_id)
        session.commit()

    assert at(sessions, ctx, clock, seoul(2026, 11, 23, 10, 0)) == 0
    clock.set(seoul(2026, 11, 23, 11, 0))
    with sessions.begin() as session:
        resume_workflow(session, ctx, workflow_id)
    assert at(sessions, ctx, clock, seoul(2026, 11, 23, 12, 0)) == 0
    assert at(sessions, ctx, clock, seoul(2026, 11, 24, 10, 0)) == 1
    assert enrollments(sessions) == [(ada, "schedule:2026-11-24T10:00:00+09:00")]


# Date properties.


def test_a_birthday_journey_enrolls_ada_at_ten_on_her_birthday_in_seoul_once_a_year(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        make_property(session, ctx, "birthday", "date")
        ada = make_contact(session, ctx, timezone="Asia/Seoul", properties={"birthday": "1990-03-15"}).id
        make_contact(session, ctx, timezone="Asia/Seoul", properties={"birthday": "1990-03-16"})
        trigger = {"type": "date_property", "property": "birthday", "every_year": True, "at": "10:00"}
        start(session, ctx, journey("birthday", trigger, "happy-birthday", reenrollment=True))

    assert at(sessions, ctx, clock, seoul(2027, 3, 15, 9, 59)) == 0
    assert at(sessions, ctx, clock, seoul(2027, 3, 15, 10, 0)) == 1
    assert at(sessions, ctx, clock, seoul(2027, 3, 15, 18, 0)) == 0
    assert at(sessions, ctx, clock, seoul(2028, 3, 15, 10, 0)) == 1

    assert enrollments(sessions) == [(ada, "date:2027-03-15"), (ada, "date:2028-03-15")]


def test_a_birthday_comes_at_ten_in_the_contacts_own_timezone(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        make_property(session, ctx, "birthday", "date")
        grace = make_contact(
            session, ctx, timezone="America/New_York", properties={"birthday": "1985-03-15"}
        ).id
        trigger = {"type": "date_property", "property": "birthday", "every_year": True, "at": "10:00"}
        start(session, ctx, journey("birthday", trigger, "happy-birthday", reenrollment=True))

    # 10:00 in Seoul is 21:00 the evening before in New York.
    assert at(sessions, ctx, clock, seoul(2027, 3, 15, 10, 0)) == 0
    assert at(sessions, ctx, clock, datetime(2027, 3, 15, 9, 59, tzinfo=NEW_YORK)) == 0
    assert at(sessions, ctx, clock, datetime(2027, 3, 15, 10, 0, tzinfo=NEW_YORK)) == 1
    assert enrollments(sessions) == [(grace, "date:2027-03-15")]


def test_a_birthday_on_29_february_comes_on_the_28th_in_other_years(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        make_property(session, ctx, "birthday", "date")
        leap = make_contact(session, ctx, properties={"birthday": "2000-02-29"}).id
        trigger = {"type": "date_property", "property": "birthday", "every_year": True, "at": "10:00"}
        start(session, ctx, journey("birthday", trigger, "happy-birthday", reenrollment=True))

    assert at(sessions, ctx, clock, seoul(2027, 2, 28, 10, 0)) == 1
    assert at(sessions, ctx, clock, seoul(2027, 3, 1, 10, 0)) == 0
    assert at(sessions, ctx, clock, seoul(2028, 2, 28, 10, 0)) == 0
    assert at(sessions, ctx, clock, seoul(2028, 2, 29, 10, 0)) == 1
    assert enrollments(sessions) == [(leap, "date:2027-02-28"), (leap, "date:2028-02-29")]


def test_a_worker_down_for_a_week_does_not_send_last_weeks_birthdays(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        make_property(session, ctx, "birthday", "date")
        make_contact(session, ctx, properties={"birthday": "1990-03-15"})
        yesterday = make_contact(session, ctx, properties={"birthday": "1990-03-21"}).id
        trigger = {"type": "date_property", "property": "birthday", "every_year": True, "at": "10:00"}
        start(session, ctx, journey("birthday", trigger, "happy-birthday"))

    # Back on the 22nd at 09:00: the 21st's birthday at 10:00 is 23 hours old, the 15th's a week.
    assert at(sessions, ctx, clock, seoul(2027, 3, 22, 9, 0)) == 1
    assert enrollments(sessions) == [(yesterday, "date:2027-03-21")]


def test_thirty_days_before_renewal_enrolls_on_that_day_at_nine(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        make_property(session, ctx, "renewal_date", "date")
        acme = make_contact(session, ctx, properties={"renewal_date": "2027-01-10"}).id
        make_contact(session, ctx, properties={"renewal_date": "2027-02-10"})
        make_contact(session, ctx)
        trigger = {"type": "date_property", "property": "renewal_date", "offset_days": -30}
        start(session, ctx, journey("renewal", trigger, "renewal-reminder"))

    assert at(sessions, ctx, clock, seoul(2026, 12, 10, 9, 0)) == 0
    assert at(sessions, ctx, clock, seoul(2026, 12, 11, 8, 59)) == 0
    assert at(sessions, ctx, clock, seoul(2026, 12, 11, 9, 0)) == 1
    assert at(sessions, ctx, clock, seoul(2026, 12, 12, 9, 0)) == 0
    assert enrollments(sessions) == [(acme, "date:2026-12-11")]


def test_a_week_after_sign_up_and_each_anniversary_come_from_the_created_at_column(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx).id  # Created at START: 22 November 2026, 10:00 in Seoul.
        week = {"type": "date_property", "property": "created_at", "offset_days": 7}
        yearly = {"type": "date_property", "property": "created_at", "every_year": True, "at": "11:00"}
        start(session, ctx, journey("first-week", week, "first-week"))
        start(session, ctx, journey("anniversary", yearly, "anniversary", reenrollment=True))

    assert at(sessions, ctx, clock, seoul(2026, 11, 22, 11, 0)) == 1
    assert at(sessions, ctx, clock, seoul(2026, 11, 29, 8, 59)) == 0
    assert at(sessions, ctx, clock, seoul(2026, 11, 29, 9, 0)) == 1
    assert at(sessions, ctx, clock, seoul(2027, 11, 22, 11, 0)) == 1
    with sessions() as session:
        rows = session.execute(
            select(Enrollment.workflow_id, Enrollment.contact_id, Enrollment.trigger_key).order_by(
                Enrollment.id
            )
        )
        assert [(c, k) for _w, c, k in rows] == [
            (ada, "date:2026-11-22"),
            (ada, "date:2026-11-29"),
            (ada, "date:2027-11-22"),
        ]
