"""A marketer finds one person stored twice and merges the two records into one."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.identity import find_by_key
from funnelwise.contacts.merge import CONTACTS_MERGED, merge_contacts
from funnelwise.contacts.models import Contact
from funnelwise.contacts.properties import PropertyType
from funnelwise.contacts.schemas import ContactIn
from funnelwise.contacts.service import ContactFilter, create_contact, get_contact, list_contacts
from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput, NotFound
from funnelwise.messaging.consent import Channel, ConsentGrant, grant_consent, revoke_consent
from funnelwise.messaging.models import Consent
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.segments.lists import add_members, create_list
from funnelwise.segments.models import StaticListMember
from funnelwise.segments.schemas import ListIn
from funnelwise.tracking.log import record_event
from funnelwise.tracking.models import Event
from funnelwise.workflows.models import Enrollment
from funnelwise.workflows.schemas import EnrollIn
from funnelwise.workflows.service import apply_workflow, enroll_contacts, resume_workflow
from tests.conftest import START
from tests.factories import make_contact, make_property
from tests.messaging.support import queue_message
from tests.workflows.support import make_welcome_templates, welcome


def _event_names(session: Session, contact_id: int) -> list[str]:
    return list(session.scalars(select(Event.name).where(Event.contact_id == contact_id).order_by(Event.id)))


def _contact_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Contact)) or 0


def test_the_kept_contacts_values_win_and_its_empty_fields_are_filled(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    make_property(session, ctx, "plan")
    make_property(session, ctx, "source")
    make_property(session, ctx, "city")
    older = make_contact(
        session,
        ctx,
        email="minsu@gmail.com",
        first_name="Minsu",
        job_title="Designer",
        timezone="Asia/Seoul",
        properties={"plan": "free", "source": "webinar"},
    )
    clock.advance(timedelta(days=2))
    keep = make_contact(
        session,
        ctx,
        email="minsu.kim@acme.co.kr",
        first_name="민수",
        last_name="김",
        lifecycle_stage="lead",
        properties={"plan": "pro", "city": "Seoul"},
    )
    clock.advance(timedelta(days=1))

    merged = merge_contacts(session, ctx, keep.id, older.id)
    session.commit()

    assert merged.id == keep.id
    assert (merged.email, merged.first_name, merged.last_name) == ("minsu.kim@acme.co.kr", "민수", "김")
    assert (merged.job_title, merged.job_level, merged.timezone) == ("Designer", "staff", "Asia/Seoul")
    assert (merged.lifecycle_stage, merged.company_id) == ("lead", keep.company_id)
    assert merged.properties == {"plan": "pro", "city": "Seoul", "source": "webinar"}
    assert merged.created_at == START
    assert merged.updated_at == START + timedelta(days=3)
    assert get_contact(session, keep.id) == merged
    assert _contact_count(session) == 1


def test_keys_the_kept_contact_lacks_move_over_to_it(session: Session, ctx: Context) -> None:
    keep = make_contact(session, ctx, email="kim@example.org")
    other = make_contact(session, ctx, email=None, phone="010-1234-5678", user_id="u-7")

    merged = merge_contacts(session, ctx, keep.id, other.id)
    session.commit()

    assert (merged.email, merged.phone, merged.user_id) == ("kim@example.org", "+821012345678", "u-7")
    assert find_by_key(session, "phone", "+821012345678") == keep.id
    assert [c.id for c in list_contacts(session, ctx, ContactFilter(phone="010-1234-5678")).results] == [
        keep.id
    ]


def test_the_events_of_both_contacts_end_up_on_the_kept_one(session: Session, ctx: Context) -> None:
    keep = make_contact(session, ctx)
    other = make_contact(session, ctx)
    record_event(session, ctx, keep.id, "Page Viewed", {"path": "/pricing"})
    record_event(session, ctx, other.id, "Form Submitted", {"form": "demo"})
    record_event(session, ctx, other.id, "Email Opened", {})
    session.commit()

    merge_contacts(session, ctx, keep.id, other.id)
    session.commit()

    assert _event_names(session, keep.id) == [
        "Page Viewed",
        "Form Submitted",
        "Email Opened",
        CONTACTS_MERGED,
    ]
    assert _event_names(session, other.id) == []


def test_the_merge_is_recorded_as_an_event_saying_what_was_lost(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    keep = make_contact(session, ctx, first_name="민수", lifecycle_stage="customer")
    other = make_contact(session, ctx, first_name="Minsu", lifecycle_stage="customer")
    record_event(session, ctx, other.id, "Page Viewed", {})
    session.commit()
    clock.advance(timedelta(minutes=5))

    merge_contacts(session, ctx, keep.id, other.id)
    session.commit()

    event = session.scalars(select(Event).where(Event.name == CONTACTS_MERGED)).one()
    assert (event.contact_id, event.type, event.occurred_at) == (
        keep.id,
        "system",
        START + timedelta(minutes=5),
    )
    assert event.properties == {
        "merged_contact_id": other.id,
        "overridden": {"email": other.email, "first_name": "Minsu"},
        "moved_events": 2,  # its page view, and its Lifecycle Stage Changed of being created a customer
    }


def test_the_merged_away_id_keeps_resolving_to_the_kept_contact(session: Session, ctx: Context) -> None:
    keep = make_contact(session, ctx)
    other = make_contact(session, ctx)

    merge_contacts(session, ctx, keep.id, other.id)
    session.commit()

    assert get_contact(session, other.id).id == keep.id
    assert [c.id for c in list_contacts(session, ctx, ContactFilter()).results] == [keep.id]


def test_a_merged_away_id_is_not_handed_to_a_new_contact(session: Session, ctx: Context) -> None:
    keep = make_contact(session, ctx)
    newest = make_contact(session, ctx)
    merge_contacts(session, ctx, keep.id, newest.id)
    session.commit()

    stranger = make_contact(session, ctx, email="stranger@example.org")

    assert stranger.id != newest.id
    assert get_contact(session, newest.id).id == keep.id


def test_the_other_contacts_email_still_finds_the_kept_contact(session: Session, ctx: Context) -> None:
    keep = make_contact(session, ctx, email="kim@acme.co.kr", phone="010-1111-2222")
    other = make_contact(session, ctx, email="minsu@gmail.com", phone="010-3333-4444", user_id="legacy-1")

    merged = merge_contacts(session, ctx, keep.id, other.id)
    session.commit()

    assert (merged.email, merged.phone, merged.user_id) == ("kim@acme.co.kr", "+821011112222", "legacy-1")
    assert find_by_key(session, "email", "minsu@gmail.com") == keep.id
    assert find_by_key(session, "phone", "+821033334444") == keep.id
    with pytest.raises(Conflict) as raised:
        create_contact(session, ctx, ContactIn(email="MINSU@gmail.com"))
    assert (raised.value.field, raised.value.existing_id) == ("email", keep.id)
    session.rollback()
    with pytest.raises(Conflict) as raised:
        create_contact(session, ctx, ContactIn(email="new@example.org", phone="+82 10 3333 4444"))
    assert (raised.value.field, raised.value.existing_id) == ("phone", keep.id)


def test_merging_twice_follows_the_chain(session: Session, ctx: Context) -> None:
    first = make_contact(session, ctx, email="a@example.org")
    second = make_contact(session, ctx, email="b@example.org")
    third = make_contact(session, ctx, email="c@example.org")
    record_event(session, ctx, first.id, "Page Viewed", {})
    session.commit()

    merge_contacts(session, ctx, second.id, first.id)
    session.commit()
    merge_contacts(session, ctx, third.id, second.id)
    session.commit()

    assert get_contact(session, first.id).id == third.id
    assert get_contact(session, second.id).id == third.id
    assert find_by_key(session, "email", "a@example.org") == third.id
    assert find_by_key(session, "email", "b@example.org") == third.id
    assert _event_names(session, third.id) == ["Page Viewed", CONTACTS_MERGED, CONTACTS_MERGED]


def test_a_contact_cannot_be_merged_into_itself_or_with_nobody(session: Session, ctx: Context) -> None:
    keep = make_contact(session, ctx)
    other = make_contact(session, ctx)
    merge_contacts(session, ctx, keep.id, other.id)
    session.commit()

    with pytest.raises(InvalidInput) as raised:
        merge_contacts(session, ctx, keep.id, keep.id)
    assert [e.field for e in raised.value.errors] == ["merge_id"]
    with pytest.raises(InvalidInput):
        merge_contacts(session, ctx, keep.id, other.id)  # the other is the kept one by now
    with pytest.raises(NotFound):
        merge_contacts(session, ctx, keep.id, 99_999)


def test_typed_properties_of_both_survive_the_merge(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "seats", PropertyType.NUMBER)
    make_property(session, ctx, "newsletter", PropertyType.BOOLEAN)
    keep = make_contact(session, ctx, properties={"seats": 3})
    other = make_contact(session, ctx, properties={"seats": 10, "newsletter": False})

    merge_contacts(session, ctx, keep.id, other.id)
    session.commit()

    filters = ContactFilter(properties=(("newsletter", "false"), ("seats", "3")))
    assert [c.id for c in list_contacts(session, ctx, filters).results] == [keep.id]


def test_consents_messages_journeys_and_lists_of_the_merged_record_are_kept(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    # The webinar lead (a form submit) and the customer who signed in are one person.
    customer = make_contact(session, ctx, email="kim@acme.co.kr").id
    lead = make_contact(session, ctx, email="minsu.kim@gmail.com").id
    grant = ConsentGrant(Channel.EMAIL, "promotions", "광고성 정보 수신 동의", "v1", "form:webinar", None)
    grant_consent(session, ctx, customer, grant)
    sms = ConsentGrant(Channel.SMS, "promotions", "문자 수신 동의", "v1", "form:webinar", None)
    grant_consent(session, ctx, lead, sms)
    clock.advance(timedelta(days=3))
    revoke_consent(session, ctx, lead, Channel.EMAIL, "promotions", source="preference page", ip=None)
    webinar = create_list(session, ctx, ListIn(name="Webinar")).id
    vip = create_list(session, ctx, ListIn(name="VIP")).id
    add_members(session, ctx, webinar, [lead, customer])
    add_members(session, ctx, vip, [lead])
    make_welcome_templates(session, ctx)
    journey = apply_workflow(session, ctx, welcome()).workflow.id
    resume_workflow(session, ctx, journey)
    enroll_contacts(session, ctx, journey, EnrollIn(contact_ids=[customer, lead]))
    message = queue_message(session, ctx, lead, "welcome")
    session.commit()

    merge_contacts(session, ctx, customer, lead)
    session.commit()

    consents = session.scalars(select(Consent).where(Consent.contact_id == customer)).all()
    # The lead's later opt-out of promotional email outranks the customer's earlier opt-in.
    assert sorted((c.channel, c.status) for c in consents) == [("email", "revoked"), ("sms", "granted")]
    members = session.execute(
        select(StaticListMember.list_id).where(StaticListMember.contact_id == customer)
    ).scalars()
    assert sorted(members) == sorted([webinar, vip])
    assert session.get(OutboxMessage, message).contact_id == customer
    journeys = session.execute(
        select(Enrollment.status, Enrollment.reason)
        .where(Enrollment.contact_id == customer)
        .order_by(Enrollment.id)
    ).all()
    assert journeys == [
        ("active", None),
        ("exited", f"merged into contact {customer}, who is on this workflow already"),
    ]
