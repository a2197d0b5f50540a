"""An integration manages templates over REST, previews one for a real contact and sends a test."""

from collections.abc import Callable

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.messaging.outbox import OutboxMessage
from tests.factories import make_company, make_contact, make_property
from tests.messaging.templates.support import email

WELCOME = email(
    name="welcome",
    purpose="advertising",
    locales={
        "ko": {
            "subject": "{{ contact.first_name | fallback('고객') }}님, {{ company.name }}에 오신 것을 환영합니다",
            "html": "<style>p { margin: 0; }</style><p>{{ trigger.properties.plan | fallback('무료') }} 요금제, "
            "{{ order.total | krw }}, {{ now | date }}</p>",
        },
        "en": {"subject": "Welcome, {{ contact.first_name }}", "text": "Plan: {{ contact.plan }}"},
    },
)


def test_a_template_is_created_read_replaced_listed_and_deleted(api: httpx.Client) -> None:
    created = api.post("/api/v1/templates", json=WELCOME)
    taken = api.post("/api/v1/templates", json=WELCOME)
    replaced = api.put(
        "/api/v1/templates/welcome",
        json={k: v for k, v in WELCOME.items() if k != "name"} | {"description": "Hello"},
    )
    new = api.put(
        "/api/v1/templates/code",
        json={"channel": "sms", "purpose": "informational", "locales": {"ko": {"text": "{{ code }}"}}},
    )
    mismatched = api.put("/api/v1/templates/code", json={"name": "other", "channel": "sms"})
    listed = api.get("/api/v1/templates")
    sms_only = api.get("/api/v1/templates", params={"channel": "sms"})
    read = api.get("/api/v1/templates/welcome")
    deleted = api.delete("/api/v1/templates/code")

    assert (created.status_code, created.json()["topic"], created.json()["locales"]) == (
        201,
        "promotions",
        WELCOME["locales"],
    )
    assert (taken.status_code, taken.json()["errors"][0]["field"]) == (409, "name")
    assert (replaced.status_code, replaced.json()["created"], replaced.json()["changed"]) == (
        200,
        False,
        True,
    )
    assert (new.status_code, new.json()["template"]["topic"]) == (201, "service")
    assert mismatched.json()["errors"] == [
        {"field": "name", "message": "the body names 'other' but the address names 'code'"}
    ]
    assert [t["name"] for t in listed.json()] == ["code", "welcome"]
    assert [t["name"] for t in sms_only.json()] == ["code"]
    assert read.json()["description"] == "Hello"
    assert deleted.status_code == 204
    assert api.get("/api/v1/templates/code").status_code == 404


def test_a_template_that_does_not_parse_is_a_422_naming_the_path_and_line(api: httpx.Client) -> None:
    broken = email(locales={"ko": {"subject": "안녕", "html": "<p>\n{% for x in y %}\n<b>{{ x }</b>"}})

    response = api.post("/api/v1/templates", json=broken)

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "locales.ko.html", "message": "line 3: unexpected '}'"}]


def test_a_preview_renders_for_a_real_contact_in_its_language_or_the_one_asked(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        make_property(session, ctx, "plan")
        acme = make_company(session, ctx, name="에이크미")
        ada = make_contact(
            session, ctx, first_name="Ada", locale="ko-KR", company_id=acme.id, properties={"plan": "pro"}
        )
    api.post("/api/v1/templates", json=WELCOME)
    variables = {"order": {"total": 12000}, "trigger": {"event": "Signed Up", "properties": {"plan": "팀"}}}

    korean = api.post(
        "/api/v1/templates/welcome/preview", json={"contact_id": ada.id, "variables": variables}
    )
    english = api.post("/api/v1/templates/welcome/preview", json={"contact_id": ada.id, "locale": "en-US"})
    nobody = api.post("/api/v1/templates/welcome/preview", json={"contact_id": 999_999})
    no_template = api.post("/api/v1/templates/nope/preview", json={"contact_id": ada.id})

    assert korean.status_code == 200, korean.text
    # 10:00 in Seoul on 22 November 2026 by the tests' clock.
    assert korean.json() == {
        "template": "welcome",
        "channel": "email",
        "locale": "ko",
        "subject": "Ada님, 에이크미에 오신 것을 환영합니다",
        "text": "팀 요금제, 12,000원, 2026년 11월 22일 (일)",
        "html": '<html><head></head><body><p style="margin: 0;">팀 요금제, 12,000원, 2026년 11월 22일 (일)</p></body></html>',
        "data": {},
    }
    assert (english.json()["subject"], english.json()["text"], english.json()["html"]) == (
        "Welcome, Ada",
        "Plan: pro",
        None,
    )
    assert (nobody.status_code, no_template.status_code) == (404, 404)


def test_a_preview_that_fails_to_render_says_why(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, first_name="Ada")
    api.post(
        "/api/v1/templates",
        json=email(locales={"ko": {"subject": "{{ contact.first_name | krw }}", "text": "."}}),
    )

    response = api.post("/api/v1/templates/order-shipped/preview", json={"contact_id": ada.id})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "template", "message": "subject: krw: 'Ada' is not a number"}
    ]


def test_a_test_send_queues_an_outbox_row_for_the_sender(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com")
    api.post("/api/v1/templates", json=WELCOME)

    sent = api.post("/api/v1/templates/welcome/test", json={"contact_id": ada.id, "to": "qa@example.com"})
    again = api.post("/api/v1/templates/welcome/test", json={"contact_id": ada.id})

    assert (sent.status_code, sent.json()["status"]) == (201, "queued")
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.id for r in rows] == [sent.json()["message_id"], again.json()["message_id"]]
    first = rows[0]
    assert (first.contact_id, first.channel, first.template, first.status, first.source) == (
        ada.id, "email", "welcome", "queued", "test",
    )  # fmt: skip
    assert (first.variables, rows[1].variables) == ({"to": "qa@example.com"}, {})
    assert (first.purpose, first.topic, first.due_at) == ("advertising", "promotions", ctx.clock.now())
    assert first.idempotency_key.startswith("test-") and first.idempotency_key != rows[1].idempotency_key


def test_reading_keys_may_list_and_preview_but_not_write(
    client_with: Callable[..., httpx.Client], api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx)
    api.post("/api/v1/templates", json=WELCOME)
    reader = client_with("messaging:read")
    outsider = client_with("contacts:read")

    assert reader.get("/api/v1/templates").status_code == 200
    assert reader.post("/api/v1/templates/welcome/preview", json={"contact_id": ada.id}).status_code == 200
    assert reader.post("/api/v1/templates", json=WELCOME).status_code == 403
    assert reader.post("/api/v1/templates/welcome/test", json={"contact_id": ada.id}).status_code == 403
    assert reader.delete("/api/v1/templates/welcome").status_code == 403
    assert outsider.get("/api/v1/templates").status_code == 403
