"""A marketer keeps contacts one at a time: creating, changing, finding and deleting them."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.companies import get_company, list_companies
from funnelwise.contacts.models import Company
from funnelwise.contacts.properties import PropertyType
from funnelwise.contacts.schemas import ContactIn, ContactOut
from funnelwise.contacts.service import (
    ContactFilter,
    create_contact,
    delete_contact,
    get_contact,
    list_contacts,
    update_contact,
)
from funnelwise.context import Context
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from tests.conftest import START
from tests.factories import make_company, make_contact, make_property, make_user

FREE_MAIL = ["gmail.com", "naver.com", "daum.net", "hanmail.net", "kakao.com", "nate.com", "outlook.com"]


def _company_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Company)) or 0


def _emails(session: Session, ctx: Context, filters: ContactFilter) -> list[str | None]:
    return [c.email for c in list_contacts(session, ctx, filters).results]


# Creating


def test_a_new_contact_is_stored_with_normalised_email_and_phone(session: Session, ctx: Context) -> None:
    contact = create_contact(
        session,
        ctx,
        ContactIn(email="  Kim.Minsu@ACME.co.kr ", phone="010-1234-5678", first_name="민수", last_name="김"),
    )
    session.commit()

    stored = get_contact(session, contact.id)
    assert stored.email == "kim.minsu@acme.co.kr"
    assert stored.phone == "+821012345678"
    assert (stored.first_name, stored.last_name) == ("민수", "김")
    assert stored.properties == {}


def test_the_job_level_is_read_from_the_job_title(session: Session, ctx: Context) -> None:
    titles = {
        "마케팅팀 과장": "manager", "영업본부장": "head", "대표이사": "executive", "VP of Sales": "executive",
        "Head of Growth": "head", "Marketing Manager": "manager", "연구원": "staff", "Designer": "staff",
    }  # fmt: skip

    levels = {title: make_contact(session, ctx, job_title=title).job_level for title in titles}

    assert levels == titles


def test_a_job_level_given_explicitly_is_kept_over_the_one_the_title_implies(
    session: Session, ctx: Context
) -> None:
    contact = make_contact(session, ctx, job_title="마케팅팀 과장", job_level="임원")

    assert contact.job_title == "마케팅팀 과장"
    assert contact.job_level == "executive"


def test_a_business_email_creates_its_company_and_a_colleague_joins_it(
    session: Session, ctx: Context
) -> None:
    first = make_contact(session, ctx, email="kim@acme.co.kr")
    colleague = make_contact(session, ctx, email="lee@ACME.co.kr")

    assert first.company_id is not None
    assert colleague.company_id == first.company_id
    company = get_company(session, first.company_id)
    assert (company.name, company.domain) == ("acme.co.kr", "acme.co.kr")
    assert company.created_at == START
    assert _company_count(session) == 1


def test_a_contact_joins_an_existing_company_of_its_domain(session: Session, ctx: Context) -> None:
    company = make_company(session, ctx, name="Acme Korea", domain="https://www.acme.co.kr/about")

    contact = make_contact(session, ctx, email="park@acme.co.kr")

    assert contact.company_id == company.id
    assert _company_count(session) == 1


def test_free_mail_addresses_create_no_company(session: Session, ctx: Context) -> None:
    contacts = [make_contact(session, ctx, email=f"someone@{domain}") for domain in FREE_MAIL]

    assert [c.company_id for c in contacts] == [None] * len(FREE_MAIL)
    assert _company_count(session) == 0


def test_no_company_is_created_when_auto_creation_is_switched_off(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    manual = Context(settings=ctx.settings.model_copy(update={"auto_create_companies": False}), clock=clock)

    contact = make_contact(session, manual, email="kim@acme.co.kr")

    assert contact.company_id is None
    assert _company_count(session) == 0


def test_a_company_given_explicitly_is_kept_over_the_email_domain(session: Session, ctx: Context) -> None:
    company = make_company(session, ctx, name="Holding")

    contact = make_contact(session, ctx, email="kim@acme.co.kr", company_id=company.id)

    assert contact.company_id == company.id
    assert _company_count(session) == 1


def test_timestamps_come_from_the_clock_and_an_update_moves_only_updated_at(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx)
    assert (contact.created_at, contact.updated_at) == (START, START)

    clock.advance(timedelta(hours=3))
    updated = update_contact(session, ctx, contact.id, ContactIn(first_name="지훈"))
    session.commit()

    assert updated.created_at == START
    assert updated.updated_at == START + timedelta(hours=3)
    assert get_contact(session, contact.id).updated_at == START + timedelta(hours=3)


# Updating


def test_an_update_changes_only_the_fields_it_names(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "plan")
    contact = make_contact(
        session,
        ctx,
        email="choi@example.org",
        phone="010-2222-3333",
        first_name="서연",
        last_name="최",
        lifecycle_stage="lead",
        properties={"plan": "free"},
    )

    updated = update_contact(session, ctx, contact.id, ContactIn(lifecycle_stage="고객"))
    session.commit()

    assert updated.lifecycle_stage == "customer"
    assert updated.model_dump(exclude={"lifecycle_stage", "updated_at"}) == contact.model_dump(
        exclude={"lifecycle_stage", "updated_at"}
    )


def test_null_clears_a_field_and_removes_a_property(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "plan")
    make_property(session, ctx, "seats", PropertyType.NUMBER)
    contact = make_contact(
        session, ctx, phone="010-2222-3333", job_title="팀장", properties={"plan": "pro", "seats": 5}
    )

    updated = update_contact(
        session, ctx, contact.id, ContactIn(phone=None, job_title=None, properties={"plan": None, "seats": 7})
    )
    session.commit()

    assert updated.phone is None
    assert updated.job_title is None
    assert updated.properties == {"seats": 7}
    assert get_contact(session, contact.id).properties == {"seats": 7}


def test_a_new_business_email_links_a_contact_without_a_company(session: Session, ctx: Context) -> None:
    contact = make_contact(session, ctx, email="jiwoo@gmail.com")
    assert contact.company_id is None

    updated = update_contact(session, ctx, contact.id, ContactIn(email="jiwoo@startup.io"))

    assert updated.company_id is not None
    assert get_company(session, updated.company_id).domain == "startup.io"


def test_a_contact_may_be_updated_with_its_own_email_and_phone(session: Session, ctx: Context) -> None:
    contact = make_contact(session, ctx, email="same@example.org", phone="010-4444-5555")

    updated = update_contact(
        session,
        ctx,
        contact.id,
        ContactIn(email="SAME@example.org", phone="+82 10 4444 5555", first_name="A"),
    )

    assert (updated.email, updated.phone, updated.first_name) == ("same@example.org", "+821044445555", "A")


# Keys are unique


@pytest.mark.parametrize(
    ("field", "taken", "again"),
    [
        ("email", "dup@example.org", " DUP@Example.ORG"),
        ("phone", "010-1234-5678", "+82 10 1234 5678"),
        ("phone", "01012345678", "010.1234.5678"),
        ("user_id", "u-42", "u-42"),
    ],
)
def test_a_key_another_contact_holds_is_a_conflict_naming_that_contact(
    session: Session, ctx: Context, field: str, taken: str, again: str
) -> None:
    holder = make_contact(session, ctx, **{field: taken})

    with pytest.raises(Conflict) as raised:
        create_contact(session, ctx, ContactIn(**{"email": "new@example.org", field: again}))

    assert raised.value.field == field
    assert raised.value.existing_id == holder.id
    assert f"belongs to contact {holder.id}" in str(raised.value)


def test_taking_another_contacts_key_in_an_update_is_a_conflict(session: Session, ctx: Context) -> None:
    holder = make_contact(session, ctx, phone="010-1234-5678")
    other = make_contact(session, ctx)

    with pytest.raises(Conflict) as raised:
        update_contact(session, ctx, other.id, ContactIn(phone="+821012345678"))

    assert (raised.value.field, raised.value.existing_id) == ("phone", holder.id)
    session.rollback()
    assert get_contact(session, other.id).phone is None


@pytest.mark.parametrize("field", ["owner_id", "company_id"])
def test_a_reference_to_nothing_is_invalid_input_naming_the_field(
    session: Session, ctx: Context, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        create_contact(session, ctx, ContactIn(email="x@example.org", **{field: 999_999}))

    assert [e.field for e in raised.value.errors] == [field]


def test_an_existing_owner_and_company_are_accepted(session: Session, ctx: Context) -> None:
    owner = make_user(session, ctx, "rep@funnelwise.co.kr")
    company = make_company(session, ctx)

    contact = make_contact(session, ctx, owner_id=owner.id, company_id=company.id)

    assert (contact.owner_id, contact.company_id) == (owner.id, company.id)


def test_every_bad_field_is_reported_at_once(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as raised:
        create_contact(
            session,
            ctx,
            ContactIn(email="not-an-email", phone="12", lifecycle_stage="vip", timezone="Mars/Base"),
        )

    assert sorted(e.field for e in raised.value.errors) == ["email", "lifecycle_stage", "phone", "timezone"]


def test_an_unknown_property_is_invalid_input(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as raised:
        create_contact(session, ctx, ContactIn(email="x@example.org", properties={"plan": "pro"}))

    assert raised.value.errors == [
        FieldError("properties.plan", "unknown property 'plan'; define it first (known: none yet)")
    ]


# Finding


def test_contacts_are_found_by_email_in_any_case_and_phone_in_any_format(
    session: Session, ctx: Context
) -> None:
    make_contact(session, ctx, email="kim@example.org", phone="010-1234-5678")
    make_contact(session, ctx, email="lee@example.org", phone="010-9999-8888")

    assert _emails(session, ctx, ContactFilter(email="KIM@Example.org")) == ["kim@example.org"]
    assert _emails(session, ctx, ContactFilter(phone="+82 10 9999 8888")) == ["lee@example.org"]
    assert _emails(session, ctx, ContactFilter(phone="01099998888")) == ["lee@example.org"]
    assert _emails(session, ctx, ContactFilter(email="nobody@example.org")) == []


def test_a_malformed_email_filter_is_invalid_input(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as raised:
        list_contacts(session, ctx, ContactFilter(phone="not a phone"))

    assert [e.field for e in raised.value.errors] == ["phone"]


def test_contacts_are_filtered_by_stage_company_and_text(session: Session, ctx: Context) -> None:
    make_contact(session, ctx, email="kim@acme.co.kr", first_name="Minsu", lifecycle_stage="lead")
    make_contact(session, ctx, email="lee@acme.co.kr", first_name="Jiwoo", lifecycle_stage="customer")
    make_contact(session, ctx, email="park@other.io", first_name="Seoyeon", lifecycle_stage="lead")
    acme = list_companies(session, domain="acme.co.kr").results[0]

    assert _emails(session, ctx, ContactFilter(lifecycle_stage="lead")) == ["kim@acme.co.kr", "park@other.io"]
    assert _emails(session, ctx, ContactFilter(company_id=acme.id)) == ["kim@acme.co.kr", "lee@acme.co.kr"]
    assert _emails(session, ctx, ContactFilter(company_id=acme.id, lifecycle_stage="lead")) == [
        "kim@acme.co.kr"
    ]
    assert _emails(session, ctx, ContactFilter(q="JIWOO")) == ["lee@acme.co.kr"]
    assert _emails(session, ctx, ContactFilter(q="acme")) == ["kim@acme.co.kr", "lee@acme.co.kr"]


def test_text_search_takes_wildcard_characters_literally(session: Session, ctx: Context) -> None:
    make_contact(session, ctx, email="kim_minsu@example.org")
    make_contact(session, ctx, email="kimaminsu@example.org", first_name="100% Kim")

    assert _emails(session, ctx, ContactFilter(q="kim_")) == ["kim_minsu@example.org"]
    assert _emails(session, ctx, ContactFilter(q="0%")) == ["kimaminsu@example.org"]


def test_contacts_are_filtered_by_custom_property_values(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "city")
    make_property(session, ctx, "seats", PropertyType.NUMBER)
    make_property(session, ctx, "newsletter", PropertyType.BOOLEAN)
    make_property(session, ctx, "tier", PropertyType.ENUM, options={"gold": "골드", "silver": "실버"})
    make_contact(
        session,
        ctx,
        email="a@example.org",
        properties={"city": "Seoul", "seats": 10, "newsletter": True, "tier": "gold"},
    )
    make_contact(
        session,
        ctx,
        email="b@example.org",
        properties={"city": "Busan", "seats": 2.5, "newsletter": False, "tier": "silver"},
    )
    make_contact(session, ctx, email="c@example.org")

    def having(*wanted: tuple[str, str]) -> list[str | None]:
        return _emails(session, ctx, ContactFilter(properties=wanted))

    assert having(("city", "Seoul")) == ["a@example.org"]
    assert having(("seats", "10")) == ["a@example.org"]
    assert having(("seats", "2.5")) == ["b@example.org"]
    assert having(("newsletter", "yes")) == ["a@example.org"]
    assert having(("newsletter", "false")) == ["b@example.org"]
    assert having(("tier", "실버")) == ["b@example.org"]
    assert having(("tier", "gold"), ("city", "Busan")) == []
    assert having(("city", "")) == ["c@example.org"]


def test_a_filter_on_an_unknown_property_or_a_bad_value_is_invalid_input(
    session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "seats", PropertyType.NUMBER)

    with pytest.raises(InvalidInput) as raised:
        list_contacts(session, ctx, ContactFilter(properties=(("seats", "many"), ("color", "red"))))

    assert sorted(e.field for e in raised.value.errors) == ["properties.color", "properties.seats"]


def test_pages_walk_every_contact_once_in_id_order(session: Session, ctx: Context) -> None:
    created = [make_contact(session, ctx).id for _ in range(7)]
    seen: list[int] = []
    pages = 0
    cursor: str | None = None

    while True:
        page = list_contacts(session, ctx, ContactFilter(), cursor=cursor, limit=3)
        seen.extend(c.id for c in page.results)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == created
    assert pages == 3


def test_a_full_last_page_says_there_is_nothing_more(session: Session, ctx: Context) -> None:
    for _ in range(4):
        make_contact(session, ctx)

    first = list_contacts(session, ctx, ContactFilter(), limit=2)
    second = list_contacts(session, ctx, ContactFilter(), cursor=first.next_cursor, limit=2)

    assert len(first.results) == len(second.results) == 2
    assert second.next_cursor is None


def test_a_made_up_cursor_is_invalid_input(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as raised:
        list_contacts(session, ctx, ContactFilter(), cursor="bogus!")

    assert [e.field for e in raised.value.errors] == ["cursor"]


# Deleting and missing contacts


def test_a_deleted_contact_is_gone_and_its_email_free_again(session: Session, ctx: Context) -> None:
    contact = make_contact(session, ctx, email="leaving@example.org")

    delete_contact(session, contact.id)
    session.commit()

    with pytest.raises(NotFound):
        get_contact(session, contact.id)
    assert list_contacts(session, ctx, ContactFilter()).results == []
    again = make_contact(session, ctx, email="leaving@example.org")
    assert get_contact(session, again.id).email == "leaving@example.org"


def test_an_unknown_contact_is_not_found_everywhere(session: Session, ctx: Context) -> None:
    with pytest.raises(NotFound, match="contact 424242 not found"):
        get_contact(session, 424242)
    with pytest.raises(NotFound):
        update_contact(session, ctx, 424242, ContactIn(first_name="x"))
    with pytest.raises(NotFound):
        delete_contact(session, 424242)


def test_contact_out_carries_every_field(session: Session, ctx: Context) -> None:
    contact = make_contact(session, ctx, email="full@example.org", timezone="Asia/Seoul", locale="ko_KR")

    assert isinstance(contact, ContactOut)
    assert (contact.timezone, contact.locale) == ("Asia/Seoul", "ko-KR")
