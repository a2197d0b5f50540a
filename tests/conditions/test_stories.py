"""Segments a marketer writes, on contacts made by the real services; both evaluators give one answer."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.conditions import (
    Condition,
    evaluate,
    event_names,
    load_facts,
    matching_contacts,
    parse_condition_yaml,
)
from funnelwise.contacts.properties import PropertyType
from funnelwise.context import Context
from funnelwise.messaging.consent import Channel, ConsentGrant, grant_consent
from funnelwise.messaging.models import Consent
from funnelwise.tracking.log import record_event
from tests.factories import make_company, make_contact, make_property


def _members(session: Session, ctx: Context, tree: Condition) -> list[int]:
    """The members by SQL, after checking that the in-memory evaluator picks the same ones."""
    now, tz = ctx.clock.now(), ctx.settings.tz
    in_database = matching_contacts(session, tree, now, tz)
    candidates = matching_contacts(session, parse_condition_yaml("all: []"), now, tz)
    in_memory = [
        contact_id
        for contact_id in candidates
        if evaluate(tree, load_facts(session, contact_id, event_names(tree)), now, tz)
    ]
    assert in_memory == in_database
    return in_database


def _track(session: Session, ctx: Context, contact_id: int, name: str, **properties: object) -> None:
    record_event(session, ctx, contact_id, name, properties)
    session.commit()


B2B = parse_condition_yaml(
    """
    all:
      - property: job_level
        operator: in
        value: [head, executive]
      - company: size_band
        operator: in
        value: [201-500, 501-1000, 1001-5000, 5001+]
      - event: Page Viewed
        where:
          - property: path
            operator: starts_with
            value: /pricing
        within_last_days: 14
    """
)


def test_a_b2b_segment_finds_senior_people_of_big_companies_who_saw_pricing(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    big = make_company(session, ctx, size_band="201-500")
    small = make_company(session, ctx, size_band="11-50")
    director = make_contact(session, ctx, job_title="Marketing Director", company_id=big.id)
    staff = make_contact(session, ctx, job_title="사원", company_id=big.id)
    founder = make_contact(session, ctx, job_title="Founder", company_id=small.id)
    stale = make_contact(session, ctx, job_title="본부장", company_id=big.id)
    _track(session, ctx, stale.id, "Page Viewed", path="/pricing")
    clock.advance(timedelta(days=20))
    for person in (director, staff, founder):
        _track(session, ctx, person.id, "Page Viewed", path="/Pricing/enterprise")

    assert _members(session, ctx, B2B) == [director.id]


B2C = parse_condition_yaml(
    """
    all:
      - aggregate: sum
        of: revenue
        event: Order Completed
        within_last_days: 90
        operator: gte
        value: 300000
      - event: Order Completed
        performed: never
        within_last_days: 30
    """
)


def test_a_b2c_win_back_segment_finds_big_spenders_who_stopped_buying(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    lapsed = make_contact(session, ctx)
    active = make_contact(session, ctx)
    small = make_contact(session, ctx)
    _track(session, ctx, lapsed.id, "Order Completed", revenue=200_000)
    _track(session, ctx, lapsed.id, "Order Completed", revenue=100_000)
    _track(session, ctx, active.id, "Order Completed", revenue=300_000)
    _track(session, ctx, small.id, "Order Completed", revenue=290_000)
    _track(session, ctx, small.id, "Order Completed", revenue="10000")  # text is not a number
    clock.advance(timedelta(days=40))
    _track(session, ctx, active.id, "Order Completed", revenue=1_000)

    assert _members(session, ctx, B2C) == [lapsed.id]


def test_birthdays_are_today_in_seoul_and_29_february_counts_on_the_28th(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    make_property(session, ctx, "birthday", PropertyType.DATE)
    today = make_contact(session, ctx, properties={"birthday": "1990-11-22"})
    tomorrow = make_contact(session, ctx, properties={"birthday": "1990-11-23"})
    leap = make_contact(session, ctx, properties={"birthday": "1992-02-29"})
    make_contact(session, ctx)
    birthday = parse_condition_yaml("property: birthday\noperator: anniversary_today")

    # 10:00 on 22 November in Seoul.
    assert _members(session, ctx, birthday) == [today.id]
    clock.advance(timedelta(hours=14))  # 00:00 on the 23rd in Seoul, still the 22nd in UTC
    assert _members(session, ctx, birthday) == [tomorrow.id]
    clock.set(datetime(2027, 2, 28, 3, tzinfo=UTC))  # noon in Seoul, and 2027 is not a leap year
    assert _members(session, ctx, birthday) == [leap.id]


def test_signed_up_seven_days_ago_means_that_calendar_day_in_seoul(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    start = clock.now()
    clock.set(start.replace(hour=14, minute=59))  # 23:59 in Seoul on the 22nd
    late = make_contact(session, ctx)
    clock.advance(timedelta(minutes=1))  # 00:00 in Seoul on the 23rd
    early = make_contact(session, ctx)
    signed_up_a_week_ago = parse_condition_yaml("property: created_at\noperator: days_ago\nvalue: 7")

    clock.advance(timedelta(days=7, hours=12))  # noon on the 30th in Seoul

    assert _members(session, ctx, signed_up_a_week_ago) == [early.id]
    assert late.id not in _members(session, ctx, signed_up_a_week_ago)


def test_missing_values_match_negative_operators_and_case_is_ignored(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "plan", PropertyType.STRING)
    pro = make_contact(session, ctx, properties={"plan": "PRO"})
    basic = make_contact(session, ctx, properties={"plan": "basic"})
    unknown = make_contact(session, ctx)

    assert _members(session, ctx, parse_condition_yaml("{property: plan, operator: equals, value: pro}")) == [
        pro.id
    ]
    assert _members(
        session, ctx, parse_condition_yaml("{property: plan, operator: not_equals, value: pro}")
    ) == [
        basic.id,
        unknown.id,
    ]
    assert _members(session, ctx, parse_condition_yaml("{property: plan, operator: is_not_set}")) == [
        unknown.id
    ]


def test_email_subscribers_who_opened_a_campaign_but_never_clicked(session: Session, ctx: Context) -> None:
    reader = make_contact(session, ctx)
    clicker = make_contact(session, ctx)
    revoked = make_contact(session, ctx)
    for person in (reader, clicker, revoked):
        grant_consent(
            session, ctx, person.id, ConsentGrant(Channel.EMAIL, "newsletter", "동의", "v1", "test", None)
        )
        _track(session, ctx, person.id, "Email Opened", campaign="black-friday")
    _track(session, ctx, clicker.id, "Email Clicked", campaign="black-friday")
    _track(session, ctx, revoked.id, "Email Opened", campaign="black-friday")
    session.execute(update(Consent).where(Consent.contact_id == revoked.id).values(status="revoked"))
    session.commit()
    tree = parse_condition_yaml(
        """
        all:
          - consent: email
            topic: newsletter
          - event: Email Opened
            where: [{property: campaign, operator: equals, value: black-friday}]
          - not:
              event: Email Clicked
              where: [{property: campaign, operator: equals, value: black-friday}]
        """
    )

    assert _members(session, ctx, tree) == [reader.id]


def test_last_order_more_than_30_days_ago_leaves_out_people_who_never_ordered(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    old = make_contact(session, ctx)
    recent = make_contact(session, ctx)
    make_contact(session, ctx)
    _track(session, ctx, old.id, "Order Completed", revenue=1)
    clock.advance(timedelta(days=31))
    _track(session, ctx, recent.id, "Order Completed", revenue=1)
    tree = parse_condition_yaml("{last_time: Order Completed, operator: more_than_days_ago, value: 30}")

    assert _members(session, ctx, tree) == [old.id]
