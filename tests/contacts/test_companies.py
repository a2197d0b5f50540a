"""A sales team keeps the companies (accounts) their contacts work at."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.companies import (
    create_company,
    delete_company,
    get_company,
    list_companies,
    size_band,
    update_company,
)
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.contacts.schemas import CompanyIn
from funnelwise.contacts.service import get_contact
from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput, NotFound
from tests.conftest import START
from tests.factories import make_company, make_contact, make_property, make_user


def _names(session: Session, **filters: str) -> list[str]:
    return [c.name for c in list_companies(session, **filters).results]


def test_a_company_is_created_with_a_clean_domain_and_a_size_band(session: Session, ctx: Context) -> None:
    owner = make_user(session, ctx, "owner@funnelwise.co.kr")

    company = create_company(
        session,
        ctx,
        CompanyIn(
            name="에이크미 코리아",
            domain="https://www.Acme.co.kr/about",
            industry="SaaS",
            size_band="120명",
            owner_id=owner.id,
        ),
    )
    session.commit()

    stored = get_company(session, company.id)
    assert (stored.name, stored.domain, stored.industry) == ("에이크미 코리아", "acme.co.kr", "SaaS")
    assert (stored.size_band, stored.owner_id) == ("51-200", owner.id)
    assert (stored.properties, stored.created_at, stored.updated_at) == ({}, START, START)


@pytest.mark.parametrize(
    ("given", "band"),
    [("1", "1-10"), ("10", "1-10"), ("11", "11-50"), ("120명", "51-200"), ("1,200 명", "1001-5000"),
     (200, "51-200"), (201, "201-500"), ("5001", "5001+"), (" 501-1000 ", "501-1000"), ("5001+", "5001+")],
)  # fmt: skip
def test_the_size_band_is_read_from_a_head_count_or_a_band_name(given: object, band: str) -> None:
    assert size_band(given) == band


@pytest.mark.parametrize("given", ["0", "-5", "many", "1.5", "", True, "10-20"])
def test_anything_else_is_not_a_size(given: object) -> None:
    with pytest.raises(ValueError, match="expected a head count or one of 1-10, 11-50"):
        size_band(given)


def test_a_bad_size_domain_or_owner_is_invalid_input_naming_each_field(
    session: Session, ctx: Context
) -> None:
    with pytest.raises(InvalidInput) as raised:
        create_company(session, ctx, CompanyIn(name="Acme", domain="not a domain", size_band="huge"))
    assert sorted(e.field for e in raised.value.errors) == ["domain", "size_band"]

    with pytest.raises(InvalidInput) as raised:
        create_company(session, ctx, CompanyIn(domain="acme.co.kr"))
    assert [e.field for e in raised.value.errors] == ["name"]

    with pytest.raises(InvalidInput) as raised:
        create_company(session, ctx, CompanyIn(name="Acme", owner_id=999_999))
    assert [e.field for e in raised.value.errors] == ["owner_id"]


def test_a_domain_another_company_has_is_a_conflict(session: Session, ctx: Context) -> None:
    acme = make_company(session, ctx, name="Acme", domain="acme.co.kr")
    other = make_company(session, ctx, name="Other", domain="other.co.kr")

    with pytest.raises(Conflict) as raised:
        create_company(session, ctx, CompanyIn(name="Acme again", domain="http://ACME.co.kr"))
    assert (raised.value.field, raised.value.existing_id) == ("domain", acme.id)
    session.rollback()

    with pytest.raises(Conflict) as raised:
        update_company(session, ctx, other.id, CompanyIn(domain="www.acme.co.kr"))
    assert (raised.value.field, raised.value.existing_id) == ("domain", acme.id)


def test_an_update_changes_only_what_it_names(session: Session, ctx: Context, clock: SimulatedClock) -> None:
    company = make_company(session, ctx, name="Acme", domain="acme.co.kr", industry="SaaS", size_band="11-50")
    clock.advance(timedelta(days=1))

    updated = update_company(session, ctx, company.id, CompanyIn(size_band="300", industry=None))
    session.commit()

    assert (updated.name, updated.domain, updated.industry, updated.size_band) == (
        "Acme",
        "acme.co.kr",
        None,
        "201-500",
    )
    assert (updated.created_at, updated.updated_at) == (START, START + timedelta(days=1))
    with pytest.raises(InvalidInput) as raised:
        update_company(session, ctx, company.id, CompanyIn(size_band="0명"))
    assert [e.field for e in raised.value.errors] == ["size_band"]


def test_company_properties_are_checked_against_their_definitions(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "arr", PropertyType.NUMBER, object_type=ObjectType.COMPANY)
    make_property(
        session, ctx, "plan", PropertyType.ENUM, options=["pro", "free"], object_type=ObjectType.COMPANY
    )
    make_property(session, ctx, "seats", PropertyType.NUMBER, object_type=ObjectType.COMPANY)
    make_property(session, ctx, "city")  # a contact property, unknown to companies

    company = make_company(session, ctx, properties={"arr": 1200, "plan": "PRO", "seats": None})
    assert company.properties == {"arr": 1200, "plan": "pro"}

    with pytest.raises(InvalidInput) as raised:
        create_company(session, ctx, CompanyIn(name="Bad", properties={"arr": "lots", "city": "Seoul"}))
    assert sorted(e.field for e in raised.value.errors) == ["properties.arr", "properties.city"]

    updated = update_company(session, ctx, company.id, CompanyIn(properties={"plan": None, "arr": 3000}))
    assert updated.properties == {"arr": 3000}


def test_companies_are_listed_by_name_fragment_and_by_domain_from_a_url(
    session: Session, ctx: Context
) -> None:
    make_company(session, ctx, name="Acme Korea", domain="acme.co.kr")
    make_company(session, ctx, name="ACME Japan", domain="acme.jp")
    make_company(session, ctx, name="Globex 100%", domain="globex.com")

    assert _names(session, name="acme") == ["Acme Korea", "ACME Japan"]
    assert _names(session, name="0%") == ["Globex 100%"]
    assert _names(session, name="e_k") == []
    assert _names(session, domain="https://www.ACME.jp/contact") == ["ACME Japan"]
    assert _names(session) == ["Acme Korea", "ACME Japan", "Globex 100%"]


def test_a_malformed_domain_filter_is_invalid_input(session: Session) -> None:
    with pytest.raises(InvalidInput) as raised:
        list_companies(session, domain="not a domain")

    assert [e.field for e in raised.value.errors] == ["domain"]


def test_company_pages_walk_every_company_once(session: Session, ctx: Context) -> None:
    created = [make_company(session, ctx).id for _ in range(5)]

    first = list_companies(session, limit=2)
    second = list_companies(session, cursor=first.next_cursor, limit=2)
    third = list_companies(session, cursor=second.next_cursor, limit=2)

    assert [c.id for page in (first, second, third) for c in page.results] == created
    assert third.next_cursor is None


def test_deleting_a_company_leaves_its_contacts_without_one(
    sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    kim = make_contact(session, ctx, email="kim@acme.co.kr")
    lee = make_contact(session, ctx, email="lee@acme.co.kr")
    assert kim.company_id is not None

    delete_company(session, kim.company_id)
    session.commit()

    with sessions() as fresh:
        with pytest.raises(NotFound, match=f"company {kim.company_id} not found"):
            get_company(fresh, kim.company_id)
        assert get_contact(fresh, kim.id).company_id is None
        assert get_contact(fresh, lee.id).company_id is None
        assert get_contact(fresh, lee.id).email == "lee@acme.co.kr"


def test_an_unknown_company_is_not_found(session: Session, ctx: Context) -> None:
    with pytest.raises(NotFound):
        update_company(session, ctx, 31337, CompanyIn(name="x"))
    with pytest.raises(NotFound):
        delete_company(session, 31337)
