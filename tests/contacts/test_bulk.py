"""An integration pushes contacts in batches: each row is created, updated, left alone or refused."""

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.bulk import DedupeKey, Outcome, RowResult, UpdatePolicy, upsert_raw
from funnelwise.contacts.merge import merge_contacts
from funnelwise.contacts.models import Contact
from funnelwise.contacts.properties import PropertyType
from funnelwise.contacts.schemas import ContactOut
from funnelwise.contacts.service import ContactFilter, get_contact, list_contacts
from funnelwise.context import Context
from funnelwise.errors import FieldError
from tests.conftest import START
from tests.factories import make_contact, make_property


def _upsert(
    session: Session,
    ctx: Context,
    items: list[Any],
    key: DedupeKey = DedupeKey.EMAIL,
    policy: UpdatePolicy = UpdatePolicy.OVERWRITE,
) -> list[RowResult]:
    results = upsert_raw(session, ctx, items, key, policy)
    session.commit()
    return results


def _outcomes(results: list[RowResult]) -> list[Outcome]:
    return [r.outcome for r in results]


def _by_email(session: Session, ctx: Context, email: str) -> ContactOut:
    [contact] = list_contacts(session, ctx, ContactFilter(email=email)).results
    return contact


def _contact_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Contact)) or 0


def test_bad_rows_fail_alone_with_their_field_errors_and_the_good_ones_are_stored(
    session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "seats", PropertyType.NUMBER)
    items: list[Any] = [
        {"email": "Kim@Acme.co.kr", "first_name": "민수", "job_title": "팀장", "properties": {"seats": 5}},
        {"email": "not-an-email", "first_name": "Broken"},
        "kim@acme.co.kr",
        {"email": "lee@acme.co.kr", "lifecycle_stage": "vip", "properties": {"seats": "five"}},
        {"first_name": "No email"},
        {"email": "park@acme.co.kr", "owner_id": 999_999},
        {"email": "choi@gmail.com", "phone": "010-1234-5678"},
    ]

    results = _upsert(session, ctx, items)

    assert _outcomes(results) == [
        Outcome.CREATED, Outcome.FAILED, Outcome.FAILED, Outcome.FAILED, Outcome.FAILED, Outcome.FAILED,
        Outcome.CREATED,
    ]  # fmt: skip
    assert [e.field for e in results[1].errors] == ["email"]
    assert results[2].errors == [FieldError("contact", "expected an object of contact fields")]
    assert sorted(e.field for e in results[3].errors) == ["lifecycle_stage", "properties.seats"]
    assert results[4].errors == [FieldError("email", "no email to match on (contacts are matched on email)")]
    assert results[5].errors == [FieldError("owner_id", "no user with id 999999")]
    assert all(r.contact_id is None for r in results if r.outcome is Outcome.FAILED)
    kim = get_contact(session, results[0].contact_id or 0)
    assert (kim.email, kim.first_name, kim.job_level, kim.properties) == (
        "kim@acme.co.kr",
        "민수",
        "head",
        {"seats": 5},
    )
    assert kim.company_id is not None
    assert (kim.created_at, kim.updated_at) == (START, START)
    choi = get_contact(session, results[6].contact_id or 0)
    assert (choi.phone, choi.company_id) == ("+821012345678", None)
    assert _contact_count(session) == 2


def test_the_same_batch_again_changes_nothing(session: Session, ctx: Context, clock: SimulatedClock) -> None:
    make_property(session, ctx, "tags", PropertyType.MULTI_ENUM, options=["vip", "beta"])
    make_property(session, ctx, "seats", PropertyType.NUMBER)
    items = [
        {"email": f"user{n}@acme.co.kr", "phone": f"010-5555-{n:04d}", "job_title": "Marketing Manager",
         "properties": {"tags": ["beta", "vip"], "seats": n * 1.5}}
        for n in range(1, 6)
    ]  # fmt: skip
    first = _upsert(session, ctx, items)
    clock.advance(timedelta(hours=1))

    again = _upsert(session, ctx, items)

    assert _outcomes(first) == [Outcome.CREATED] * 5
    assert again == [RowResult(Outcome.UNCHANGED, r.contact_id) for r in first]
    assert {c.updated_at for c in list_contacts(session, ctx, ContactFilter()).results} == {START}


def test_overwrite_replaces_stored_values_with_given_ones_and_leaves_blanks_alone(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    make_property(session, ctx, "plan")
    make_property(session, ctx, "city")
    stored = make_contact(
        session,
        ctx,
        email="kim@example.org",
        first_name="Old",
        job_title="Designer",
        properties={"plan": "free"},
    )
    clock.advance(timedelta(minutes=1))

    [result] = _upsert(
        session,
        ctx,
        [{"email": "KIM@example.org", "first_name": "New", "last_name": "Kim", "job_title": None,
          "properties": {"plan": "pro", "city": "Seoul"}}],
    )  # fmt: skip

    assert result == RowResult(Outcome.UPDATED, stored.id)
    kim = get_contact(session, stored.id)
    assert (kim.first_name, kim.last_name, kim.job_title, kim.job_level) == (
        "New",
        "Kim",
        "Designer",
        "staff",
    )
    assert kim.properties == {"plan": "pro", "city": "Seoul"}
    assert (kim.created_at, kim.updated_at) == (START, START + timedelta(minutes=1))


def test_fill_empty_only_fills_fields_that_are_empty(session: Session, ctx: Context) -> None:
    make_property(session, ctx, "plan")
    make_property(session, ctx, "city")
    stored = make_contact(
        session, ctx, email="kim@example.org", first_name="Old", properties={"plan": "free"}
    )

    [result] = _upsert(
        session,
        ctx,
        [{"email": "kim@example.org", "first_name": "New", "last_name": "Kim",
          "properties": {"plan": "pro", "city": "Seoul"}}],
        policy=UpdatePolicy.FILL_EMPTY,
    )  # fmt: skip
    [again] = _upsert(
        session, ctx, [{"email": "kim@example.org", "first_name": "Newer"}], policy=UpdatePolicy.FILL_EMPTY
    )

    assert result == RowResult(Outcome.UPDATED, stored.id)
    assert again == RowResult(Outcome.UNCHANGED, stored.id)
    kim = get_contact(session, stored.id)
    assert (kim.first_name, kim.last_name) == ("Old", "Kim")
    assert kim.properties == {"plan": "free", "city": "Seoul"}


def test_skip_leaves_existing_contacts_as_they_are_and_creates_new_ones(
    session: Session, ctx: Context
) -> None:
    stored = make_contact(session, ctx, email="kim@example.org", first_name="Old")

    results = _upsert(
        session,
        ctx,
        [{"email": "kim@example.org", "first_name": "New", "last_name": "Kim"},
         {"email": "lee@example.org", "first_name": "Jiwoo"}],
        policy=UpdatePolicy.SKIP,
    )  # fmt: skip

    assert results[0] == RowResult(Outcome.UNCHANGED, stored.id)
    assert results[1].outcome is Outcome.CREATED
    kim = get_contact(session, stored.id)
    assert (kim.first_name, kim.last_name, kim.updated_at) == ("Old", None, START)
    assert _by_email(session, ctx, "lee@example.org").first_name == "Jiwoo"


def test_contacts_are_matched_on_user_id_when_asked(session: Session, ctx: Context) -> None:
    stored = make_contact(session, ctx, email="old@example.org", user_id="crm-1")

    results = _upsert(
        session,
        ctx,
        [{"user_id": "crm-1", "email": "new@example.org"}, {"user_id": "crm-2"}, {"email": "x@example.org"}],
        key=DedupeKey.USER_ID,
    )

    assert results[0] == RowResult(Outcome.UPDATED, stored.id)
    assert results[1].outcome is Outcome.CREATED
    assert results[2].errors == [
        FieldError("user_id", "no user_id to match on (contacts are matched on user_id)")
    ]
    assert get_contact(session, stored.id).email == "new@example.org"
    assert get_contact(session, results[1].contact_id or 0).email is None


def test_contacts_are_matched_on_the_phone_in_any_format(session: Session, ctx: Context) -> None:
    stored = make_contact(session, ctx, phone="010-1234-5678")

    results = _upsert(
        session,
        ctx,
        [{"phone": "+82 10 1234 5678", "first_name": "민수"}, {"phone": "01098765432"}],
        key=DedupeKey.PHONE,
    )

    assert results[0] == RowResult(Outcome.UPDATED, stored.id)
    assert results[1].outcome is Outcome.CREATED
    assert get_contact(session, stored.id).first_name == "민수"
    assert get_contact(session, results[1].contact_id or 0).phone == "+821098765432"


def test_the_same_key_twice_in_a_batch_is_one_contact_and_the_later_row_wins(
    session: Session, ctx: Context
) -> None:
    results = _upsert(
        session,
        ctx,
        [{"email": "kim@example.org", "first_name": "First", "last_name": "Kim"},
         {"email": "lee@example.org"},
         {"email": "KIM@example.org", "first_name": "Second"}],
    )  # fmt: skip

    assert _outcomes(results) == [Outcome.CREATED, Outcome.CREATED, Outcome.UPDATED]
    assert results[0].contact_id == results[2].contact_id
    kim = _by_email(session, ctx, "kim@example.org")
    assert (kim.id, kim.first_name, kim.last_name) == (results[0].contact_id, "Second", "Kim")
    assert _contact_count(session) == 2


@pytest.mark.parametrize("size", [3, 80])
def test_a_row_taking_another_contacts_phone_fails_alone(session: Session, ctx: Context, size: int) -> None:
    holder = make_contact(session, ctx, email="holder@example.org", phone="010-1111-2222")
    items = [{"email": f"row{n}@example.org", "first_name": f"Row {n}"} for n in range(size)]
    items[1]["phone"] = "+82 10 1111 2222"

    results = _upsert(session, ctx, items)

    assert results[1] == RowResult(
        Outcome.FAILED,
        errors=[FieldError("phone", f"'+821011112222' belongs to contact {holder.id} already")],
    )
    assert _outcomes(results[:1] + results[2:]) == [Outcome.CREATED] * (size - 1)
    assert _contact_count(session) == size
    assert get_contact(session, holder.id).phone == "+821011112222"
    assert list_contacts(session, ctx, ContactFilter(email="row1@example.org")).results == []


def test_a_large_batch_is_created_then_found_unchanged(session: Session, ctx: Context) -> None:
    items = [{"email": f"bulk{n}@acme.co.kr", "phone": f"010-7777-{n:04d}"} for n in range(120)]

    first = _upsert(session, ctx, items)
    again = _upsert(session, ctx, list(reversed(items)))

    assert _outcomes(first) == [Outcome.CREATED] * 120
    assert again == [RowResult(Outcome.UNCHANGED, r.contact_id) for r in reversed(first)]
    assert len({r.contact_id for r in first}) == 120


def test_a_merged_away_email_updates_the_kept_contact(session: Session, ctx: Context) -> None:
    keep = make_contact(session, ctx, email="kim@acme.co.kr", user_id="crm-1")
    gone = make_contact(session, ctx, email="minsu@gmail.com", user_id="legacy-9")
    merge_contacts(session, ctx, keep.id, gone.id)
    session.commit()

    by_email = _upsert(session, ctx, [{"email": "Minsu@gmail.com", "first_name": "민수"}])
    by_user_id = _upsert(session, ctx, [{"user_id": "legacy-9", "last_name": "김"}], key=DedupeKey.USER_ID)

    assert by_email == [RowResult(Outcome.UPDATED, keep.id)]
    assert by_user_id == [RowResult(Outcome.UPDATED, keep.id)]
    kept = get_contact(session, keep.id)
    assert (kept.email, kept.user_id, kept.first_name, kept.last_name) == (
        "kim@acme.co.kr",
        "crm-1",
        "민수",
        "김",
    )
    assert _contact_count(session) == 1


def test_a_batch_naming_both_keys_of_a_merged_person_updates_one_contact(
    session: Session, ctx: Context
) -> None:
    keep = make_contact(session, ctx, email="kim@acme.co.kr")
    gone = make_contact(session, ctx, email="minsu@gmail.com")
    merge_contacts(session, ctx, keep.id, gone.id)
    session.commit()

    results = _upsert(
        session,
        ctx,
        [{"email": "kim@acme.co.kr", "last_name": "김"}, {"email": "minsu@gmail.com", "first_name": "민수"}],
    )

    assert results == [RowResult(Outcome.UPDATED, keep.id), RowResult(Outcome.UPDATED, keep.id)]
    kept = get_contact(session, keep.id)
    assert (kept.first_name, kept.last_name) == ("민수", "김")
    assert _contact_count(session) == 1
