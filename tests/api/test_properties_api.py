"""A marketer defines typed custom properties; contact writes are checked against them."""

import httpx
from sqlalchemy.orm import Session

from funnelwise.context import Context
from tests.api.support import assert_error, message_of
from tests.factories import make_contact, make_property

PLAN = {
    "name": "plan",
    "label": "요금제",
    "type": "enum",
    "options": [{"value": "free", "label": "무료"}, {"value": "pro", "label": "프로"}],
}


def test_a_property_definition_lives_through_create_read_patch_and_delete(api: httpx.Client) -> None:
    created = api.post("/api/v1/properties/contact", json=PLAN)
    assert created.status_code == 201, created.text
    assert created.json()["options"] == [
        {"value": "free", "label": "무료"},
        {"value": "pro", "label": "프로"},
    ]
    assert created.json()["object_type"] == "contact"

    assert api.get("/api/v1/properties/contact/plan").json() == created.json()
    assert [d["name"] for d in api.get("/api/v1/properties/contact").json()] == ["plan"]
    assert api.get("/api/v1/properties/company").json() == []

    patched = api.patch(
        "/api/v1/properties/contact/plan",
        json={"label": "Plan", "options": [{"value": "free"}, {"value": "pro"}, {"value": "team"}]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["label"] == "Plan"
    assert [o["value"] for o in patched.json()["options"]] == ["free", "pro", "team"]

    assert api.delete("/api/v1/properties/contact/plan").status_code == 204
    assert_error(api.get("/api/v1/properties/contact/plan"), 404)
    assert api.get("/api/v1/properties/contact").json() == []


def test_a_contact_value_outside_an_enum_is_refused_with_the_options_listed(api: httpx.Client) -> None:
    assert api.post("/api/v1/properties/contact", json=PLAN).status_code == 201

    response = api.post("/api/v1/contacts", json={"email": "kim@acme.co.kr", "properties": {"plan": "gold"}})

    body = assert_error(response, 422, "properties.plan")
    message = message_of(body, "properties.plan")
    assert "'gold'" in message
    assert "'free'" in message
    assert "'pro'" in message
    assert api.get("/api/v1/contacts").json()["results"] == []


def test_a_contact_value_inside_an_enum_is_stored(api: httpx.Client) -> None:
    api.post("/api/v1/properties/contact", json=PLAN)

    response = api.post("/api/v1/contacts", json={"email": "kim@acme.co.kr", "properties": {"plan": "pro"}})

    assert response.status_code == 201, response.text
    assert response.json()["properties"] == {"plan": "pro"}


def test_contacts_are_searched_by_a_property_value(api: httpx.Client, session: Session, ctx: Context) -> None:
    make_property(session, ctx, "plan", "enum", options=["free", "pro"])
    make_property(session, ctx, "seats", "number")
    pro = make_contact(session, ctx, properties={"plan": "pro", "seats": 12})
    make_contact(session, ctx, properties={"plan": "free", "seats": 12})

    def ids(*pairs: str) -> list[int]:
        response = api.get("/api/v1/contacts", params=[("property", pair) for pair in pairs])
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["results"]]

    assert ids("plan:pro") == [pro.id]
    assert ids("plan:pro", "seats:12") == [pro.id]
    assert ids("seats:13") == []
    assert_error(api.get("/api/v1/contacts", params={"property": "plan"}), 422, "property")
    assert_error(api.get("/api/v1/contacts", params={"property": "plan:gold"}), 422, "properties.plan")


def test_deleting_a_definition_removes_its_values(api: httpx.Client, session: Session, ctx: Context) -> None:
    make_property(session, ctx, "plan", "enum", options=["free", "pro"])
    make_property(session, ctx, "seats", "number")
    contact = make_contact(session, ctx, properties={"plan": "pro", "seats": 3})

    assert api.delete("/api/v1/properties/contact/plan").status_code == 204

    assert api.get(f"/api/v1/contacts/{contact.id}").json()["properties"] == {"seats": 3}


def test_a_second_definition_of_one_name_is_a_conflict(api: httpx.Client) -> None:
    api.post("/api/v1/properties/contact", json=PLAN)

    response = api.post(
        "/api/v1/properties/contact", json={"name": "plan", "label": "Plan", "type": "string"}
    )

    assert_error(response, 409, "name")
    assert api.get("/api/v1/properties/contact/plan").json()["type"] == "enum"


def test_a_company_may_have_a_property_of_the_same_name(api: httpx.Client) -> None:
    api.post("/api/v1/properties/contact", json=PLAN)

    response = api.post("/api/v1/properties/company", json=PLAN)

    assert response.status_code == 201, response.text
    assert response.json()["object_type"] == "company"


def test_bad_definitions_are_refused_naming_the_field(api: httpx.Client) -> None:
    cases = [
        ({"name": "Plan", "label": "Plan", "type": "string"}, "name"),
        ({"name": "plan", "label": "Plan", "type": "colour"}, "type"),
        ({"name": "plan", "label": "Plan", "type": "enum"}, "options"),
        ({"name": "plan", "label": "Plan", "type": "string", "options": [{"value": "a"}]}, "options"),
        ({"name": "email", "label": "Email", "type": "string"}, "name"),
    ]

    for definition, field in cases:
        assert_error(api.post("/api/v1/properties/contact", json=definition), 422, field)
    assert api.get("/api/v1/properties/contact").json() == []
