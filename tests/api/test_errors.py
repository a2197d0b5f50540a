"""Every error the API gives is JSON naming the field at fault, and nothing a client sends is a 500."""

from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from funnelwise.context import Context
from tests.api.support import assert_error, message_of
from tests.factories import make_contact, make_property

JSON = {"Content-Type": "application/json"}


def test_a_malformed_json_body_is_named_as_the_body(api: httpx.Client) -> None:
    response = api.post("/api/v1/contacts", content=b"{bad", headers=JSON)

    body = assert_error(response, 422, "body")
    assert message_of(body, "body").startswith("malformed JSON: ")
    assert body["detail"].startswith("body: malformed JSON: ")


def test_a_malformed_batch_body_is_named_as_the_body_too(api: httpx.Client) -> None:
    response = api.post("/api/v1/contacts/batch", content=b'{"contacts": [', headers=JSON)

    assert_error(response, 422, "body")


def test_an_unknown_top_level_field_is_named(api: httpx.Client) -> None:
    response = api.post("/api/v1/contacts", json={"email": "kim@acme.co.kr", "emial": "x"})

    body = assert_error(response, 422, "emial")
    assert message_of(body, "emial") == "unknown field"


def test_an_undefined_property_is_named_with_its_path(api: httpx.Client) -> None:
    response = api.post("/api/v1/contacts", json={"email": "kim@acme.co.kr", "properties": {"grade": "A"}})

    body = assert_error(response, 422, "properties.grade")
    assert "define it first" in message_of(body, "properties.grade")


def test_a_mistyped_property_is_named(api: httpx.Client, session: Session, ctx: Context) -> None:
    make_property(session, ctx, "seats", "number")

    response = api.post("/api/v1/contacts", json={"email": "kim@acme.co.kr", "properties": {"seats": "abc"}})

    body = assert_error(response, 422, "properties.seats")
    assert message_of(body, "properties.seats") == "expected a number, got text 'abc'"


def test_an_invalid_email_is_named(api: httpx.Client) -> None:
    response = api.post("/api/v1/contacts", json={"email": "kim@"})

    body = assert_error(response, 422, "email")
    assert message_of(body, "email").startswith("invalid email 'kim@'")


def test_an_invalid_phone_is_named(api: httpx.Client) -> None:
    response = api.post("/api/v1/contacts", json={"email": "kim@acme.co.kr", "phone": "12"})

    body = assert_error(response, 422, "phone")
    assert message_of(body, "phone").startswith("invalid phone number '12'")


def test_a_missing_required_field_is_named(api: httpx.Client) -> None:
    response = api.post("/api/v1/properties/contact", json={"name": "grade", "type": "string"})

    body = assert_error(response, 422, "label")
    assert message_of(body, "label") == "Field required"


def test_a_taken_email_is_a_conflict_naming_the_holder(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    holder = make_contact(session, ctx, email="kim@acme.co.kr")

    response = api.post("/api/v1/contacts", json={"email": " KIM@acme.co.kr"})

    body = assert_error(response, 409, "email")
    assert body["errors"][0] == {
        "field": "email",
        "message": f"'kim@acme.co.kr' belongs to contact {holder.id} already",
        "existing_id": holder.id,
    }
    assert body["detail"] == f"email: 'kim@acme.co.kr' belongs to contact {holder.id} already"


def test_a_taken_phone_in_another_format_is_a_conflict(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    holder = make_contact(session, ctx, phone="010-1234-5678")

    response = api.post("/api/v1/contacts", json={"email": "lee@acme.co.kr", "phone": "+82 10 1234 5678"})

    body = assert_error(response, 409, "phone")
    assert body["errors"][0]["existing_id"] == holder.id


def test_a_patch_taking_another_contacts_email_is_a_conflict(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    kim = make_contact(session, ctx, email="kim@acme.co.kr")
    lee = make_contact(session, ctx, email="lee@acme.co.kr")

    response = api.patch(f"/api/v1/contacts/{lee.id}", json={"email": "kim@acme.co.kr"})

    assert assert_error(response, 409, "email")["errors"][0]["existing_id"] == kim.id
    assert api.get(f"/api/v1/contacts/{lee.id}").json()["email"] == "lee@acme.co.kr"


@pytest.mark.parametrize("cursor", ["!!!", "bm9wZQ", "aWQ6eA", "x" * 500])
def test_a_cursor_the_api_did_not_hand_out_is_refused(api: httpx.Client, cursor: str) -> None:
    response = api.get("/api/v1/contacts", params={"cursor": cursor})

    body = assert_error(response, 422, "cursor")
    assert message_of(body, "cursor") == "not a cursor this API handed out"


@pytest.mark.parametrize("path", ["/api/v1/contacts/4242", "/api/v1/companies/4242"])
def test_an_unknown_id_is_a_json_404(api: httpx.Client, path: str) -> None:
    for response in (api.get(path), api.patch(path, json={}), api.delete(path)):
        body = assert_error(response, 404)
        assert "4242" in body["detail"]


def test_an_unknown_property_definition_is_a_json_404(api: httpx.Client) -> None:
    assert_error(api.get("/api/v1/properties/contact/grade"), 404)


@pytest.mark.parametrize("contact_id", ["abc", "1.5", "0", "-3", str(2**63), "9" * 30])
def test_an_id_that_is_not_a_positive_64_bit_integer_is_refused(api: httpx.Client, contact_id: str) -> None:
    response = api.get(f"/api/v1/contacts/{contact_id}")

    assert_error(response, 422, "contact_id")


def test_the_largest_64_bit_id_is_merely_not_found(api: httpx.Client) -> None:
    assert_error(api.get(f"/api/v1/contacts/{2**63 - 1}"), 404)
    assert_error(api.get(f"/api/v1/companies/{2**63 - 1}"), 404)


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "many"])
def test_a_limit_out_of_range_is_named(api: httpx.Client, limit: str) -> None:
    for path in ("/api/v1/contacts", "/api/v1/companies"):
        assert_error(api.get(path, params={"limit": limit}), 422, "limit")


def test_an_out_of_range_id_filter_is_named(api: httpx.Client) -> None:
    response = api.get("/api/v1/contacts", params={"owner_id": str(10**30), "company_id": "0"})

    assert_error(response, 422, "company_id", "owner_id")


@pytest.mark.parametrize("merge_id", [0, 2**63, 10**30, "two"])
def test_a_merge_id_that_is_not_a_positive_64_bit_integer_is_named(
    api: httpx.Client, session: Session, ctx: Context, merge_id: object
) -> None:
    contact = make_contact(session, ctx)

    response = api.post(f"/api/v1/contacts/{contact.id}/merge", json={"merge_id": merge_id})

    assert_error(response, 422, "merge_id")


def test_an_unknown_object_type_is_refused(api: httpx.Client) -> None:
    assert_error(api.get("/api/v1/properties/deal"), 422, "object_type")


def test_an_unknown_route_is_a_json_404(api: httpx.Client) -> None:
    assert_error(api.get("/api/v1/nothing-here"), 404)


def test_a_wrong_method_is_a_json_405(api: httpx.Client) -> None:
    assert_error(api.put("/api/v1/contacts", json={}), 405)


ODD_VALUES: list[Any] = [
    None,
    "",
    "   ",
    {"nested": {"deeper": [1, 2]}},
    [1, "two", None],
    [],
    {},
    "x" * 100_000,
    "김" * 5_000,
    "\u200b\ufeff",
    True,
    -1,
    0,
    1.5,
    1e308,
    "2026-13-45",
    "'; DROP TABLE contacts; --",
]
FIELDS = [
    "email",
    "phone",
    "user_id",
    "first_name",
    "last_name",
    "job_title",
    "job_level",
    "lifecycle_stage",
    "owner_id",
    "company_id",
    "timezone",
    "locale",
]
PROPERTIES = {"seats": "number", "note": "string", "plan": "enum", "tags": "multi_enum", "renews": "date"}


def _odd_contacts() -> list[Any]:
    contacts: list[Any] = []
    for value in ODD_VALUES:
        number = len(contacts)
        contacts.append(value)  # the item itself is odd
        contacts.append({"email": value})
        contacts.append({"email": f"odd{number}@example.org", "properties": value})
        for field in FIELDS[1:]:
            contacts.append({"email": f"odd{number}.{field}@example.org", field: value})
        for name in PROPERTIES:
            contacts.append({"email": f"odd{number}.{name}@example.org", "properties": {name: value}})
    return contacts


def _define_properties(session: Session, ctx: Context) -> None:
    for name, type_ in PROPERTIES.items():
        options = ["free", "pro"] if "enum" in type_ else None
        make_property(session, ctx, name, type_, options=options)


def test_odd_values_never_cause_a_server_error(api: httpx.Client, session: Session, ctx: Context) -> None:
    _define_properties(session, ctx)
    contacts = _odd_contacts()

    for contact in contacts:
        response = api.post("/api/v1/contacts", json=contact)
        assert response.status_code < 500, (repr(contact)[:200], response.text)
        assert response.headers["content-type"] == "application/json"
    batch = api.post("/api/v1/contacts/batch", json={"contacts": contacts})

    assert batch.status_code == 200, batch.text[:1000]
    results = batch.json()["results"]
    assert [r["index"] for r in results] == list(range(len(contacts)))
    for contact, result in zip(contacts, results, strict=True):
        if not isinstance(contact, dict):
            assert result["errors"] == [
                {"field": "contact", "message": "expected an object of contact fields"}
            ]


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "contacts",
        {"contacts": None},
        {"contacts": []},
        {"contacts": {"email": "a@b.co"}},
        {"contacts": [{}] * 1001},
        {"contacts": [{"email": "a@b.co"}], "key": "fax"},
        {"contacts": [{"email": "a@b.co"}], "policy": ["skip"]},
        {"contacts": [{"email": "a@b.co"}], "extra": 1},
    ],
)
def test_an_odd_batch_envelope_is_a_422(api: httpx.Client, body: Any) -> None:
    response = api.post("/api/v1/contacts/batch", json=body)

    assert_error(response, 422, *[e["field"] for e in response.json()["errors"]])
    assert response.json()["errors"]


HUGE_ID = 10**30


@pytest.mark.parametrize("field", ["owner_id", "company_id"])
def test_a_body_id_beyond_64_bits_is_a_422(api: httpx.Client, field: str) -> None:
    contact = {"email": "kim@acme.co.kr", field: HUGE_ID}

    single = api.post("/api/v1/contacts", json=contact)
    assert single.status_code == 422, single.text
    batch = api.post("/api/v1/contacts/batch", json={"contacts": [contact]})
    assert batch.status_code == 200, batch.text
    assert batch.json()["results"][0]["errors"][0]["field"] == field


@pytest.mark.parametrize("field", ["user_id", "first_name", "job_title", "properties.note"])
def test_a_nul_character_in_text_is_never_a_500(
    api: httpx.Client, session: Session, ctx: Context, field: str
) -> None:
    make_property(session, ctx, "note")
    contact: dict[str, Any] = {"email": "kim@acme.co.kr"}
    if field.startswith("properties."):
        contact["properties"] = {"note": "a\x00b"}
    else:
        contact[field] = "a\x00b"

    single = api.post("/api/v1/contacts", json=contact)
    assert single.status_code < 500, single.text
    batch = api.post("/api/v1/contacts/batch", json={"contacts": [contact]})
    assert batch.status_code < 500, batch.text
