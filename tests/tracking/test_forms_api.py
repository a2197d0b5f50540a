"""A marketer manages forms over the REST API: definitions are checked, submissions are paged."""

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.tracking.forms import SubmissionIn, submit_form
from tests.api.support import assert_error, message_of
from tests.conftest import START
from tests.factories import make_property

CONTACT_US: dict[str, Any] = {
    "slug": "contact-us",
    "name": "Contact us",
    "locale": "en",
    "fields": [{"name": "email", "required": True}, {"name": "full_name", "target": "name"}],
}


def test_a_form_is_created_read_listed_replaced_and_deleted(api: httpx.Client) -> None:
    created = api.post("/api/v1/forms", json=CONTACT_US)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body == {
        **CONTACT_US,
        "id": body["id"],
        "title": None,
        "description": None,
        "submit_label": None,
        "fields": [
            {"name": "email", "target": None, "label": None, "required": True, "placeholder": None},
            {"name": "full_name", "target": "name", "label": None, "required": False, "placeholder": None},
        ],
        "consents": [],
        "thank_you": None,
        "redirect_url": None,
        "rate_limit_per_minute": 10,
        "url": "http://127.0.0.1:8000/f/contact-us",
        "embed_snippet": (
            '<script src="http://127.0.0.1:8000/f/contact-us/embed.js"></script>\n'
            '<noscript><a href="http://127.0.0.1:8000/f/contact-us">http://127.0.0.1:8000/f/contact-us</a></noscript>'
        ),
        "created_at": "2026-11-22T01:00:00Z",
        "updated_at": "2026-11-22T01:00:00Z",
    }
    assert api.get("/api/v1/forms/contact-us").json() == body
    assert [form["slug"] for form in api.get("/api/v1/forms").json()] == ["contact-us"]

    moved = api.put(
        "/api/v1/forms/contact-us", json={**CONTACT_US, "slug": "talk-to-sales", "name": "Talk to sales"}
    )
    assert (moved.status_code, moved.json()["slug"], moved.json()["name"]) == (
        200,
        "talk-to-sales",
        "Talk to sales",
    )
    assert_error(api.get("/api/v1/forms/contact-us"), 404)

    assert api.delete("/api/v1/forms/talk-to-sales").status_code == 204
    assert api.get("/api/v1/forms").json() == []


def test_a_definition_is_refused_naming_each_field_at_fault(api: httpx.Client) -> None:
    bad_slug = api.post("/api/v1/forms", json={**CONTACT_US, "slug": "Contact Us"})
    twice = api.post("/api/v1/forms", json={**CONTACT_US, "fields": [{"name": "email"}, {"name": "email"}]})
    unknown = api.post(
        "/api/v1/forms", json={**CONTACT_US, "fields": [{"name": "email"}, {"name": "budget"}]}
    )
    no_address = api.post(
        "/api/v1/forms", json={**CONTACT_US, "fields": [{"name": "full_name", "target": "name"}]}
    )
    sms_opt_in = api.post(
        "/api/v1/forms",
        json={
            **CONTACT_US,
            "consents": [
                {"channel": "sms", "topic": "news", "wording": "OK", "version": "1", "double_opt_in": True}
            ],
        },
    )

    assert_error(bad_slug, 422, "slug")
    assert (
        message_of(assert_error(twice, 422, "fields.1.name"), "fields.1.name")
        == "another field is named 'email'"
    )
    assert message_of(assert_error(unknown, 422, "fields.1.target"), "fields.1.target") == (
        "'budget' is neither a contact field nor a defined property; "
        "known: email, phone, first_name, last_name, name, job_title, company"
    )
    assert message_of(assert_error(no_address, 422, "fields"), "fields") == (
        "a form needs a field whose target is email or phone"
    )
    assert message_of(assert_error(sms_opt_in, 422, "consents.0"), "consents.0") == (
        "Value error, double_opt_in works for the email channel only"
    )


def test_a_defined_property_is_a_valid_target_and_a_taken_slug_conflicts(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        make_property(session, ctx, "budget", "number")
    form = {**CONTACT_US, "fields": [*CONTACT_US["fields"], {"name": "budget"}]}

    assert api.post("/api/v1/forms", json=form).status_code == 201
    assert_error(api.post("/api/v1/forms", json=form), 409, "slug")


def test_managing_forms_needs_the_tracking_scopes(client_with: Callable[..., httpx.Client]) -> None:
    reader = client_with("tracking:read")

    assert_error(reader.post("/api/v1/forms", json=CONTACT_US), 403)
    assert reader.get("/api/v1/forms").json() == []


def test_submissions_are_paged_newest_first(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    assert api.post("/api/v1/forms", json=CONTACT_US).status_code == 201
    for number in range(3):
        with sessions.begin() as session:
            values = {"email": f"guest{number}@example.org", "full_name": f"Guest {number}"}
            submit_form(
                session, ctx, "contact-us", SubmissionIn(values, ip="203.0.113.7", user_agent="curl/8")
            )

    first = api.get("/api/v1/forms/contact-us/submissions", params={"limit": 2}).json()
    rest = api.get(
        "/api/v1/forms/contact-us/submissions", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()

    assert [s["answers"] for s in first["results"]] == [
        {"email": "guest2@example.org", "full_name": "Guest 2"},
        {"email": "guest1@example.org", "full_name": "Guest 1"},
    ]
    assert rest["next_cursor"] is None
    (oldest,) = rest["results"]
    assert oldest == {
        "id": oldest["id"],
        "contact_id": oldest["contact_id"],
        "answers": {"email": "guest0@example.org", "full_name": "Guest 0"},
        "ip": "203.0.113.7",
        "user_agent": "curl/8",
        "created_at": START.isoformat().replace("+00:00", "Z"),
    }
