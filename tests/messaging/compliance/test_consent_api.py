"""GET and PUT /api/v1/contacts/{id}/consents: an integrator records and reads consent."""

from collections.abc import Callable

import httpx
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from tests.conftest import START
from tests.factories import make_contact
from tests.messaging.compliance.builders import events


def test_a_grant_and_a_revocation_are_recorded_with_their_wording_source_and_ip(
    sessions: sessionmaker[Session], ctx: Context, api: httpx.Client
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, phone="010-2345-6789")
    url = f"/api/v1/contacts/{contact.id}/consents"

    granted = api.put(
        url,
        json={
            "channel": "sms",
            "topic": "promotions",
            "status": "granted",
            "wording": "광고성 문자 수신에 동의합니다",
            "version": "2026-11",
            "source": "pos:gangnam",
            "ip": "203.0.113.7",
        },
    )
    revoked = api.put(url, json={"channel": "sms", "status": "revoked", "source": "call-center"})

    assert granted.status_code == 200, granted.text
    [consent] = granted.json()
    assert {k: consent[k] for k in ("channel", "topic", "status", "wording", "version", "source", "ip")} == {
        "channel": "sms",
        "topic": "promotions",
        "status": "granted",
        "wording": "광고성 문자 수신에 동의합니다",
        "version": "2026-11",
        "source": "pos:gangnam",
        "ip": "203.0.113.7",
    }
    assert consent["recorded_at"] == START.isoformat().replace("+00:00", "Z")
    assert [(c["topic"], c["status"], c["source"]) for c in revoked.json()] == [
        ("promotions", "revoked", "call-center")
    ]
    assert api.get(url).json() == revoked.json()
    with sessions() as session:
        assert [name for name, _ in events(session, contact.id, "Consent Granted", "Consent Revoked")] == [
            "Consent Granted",
            "Consent Revoked",
        ]


def test_a_grant_without_what_was_agreed_to_is_refused_naming_each_field(
    sessions: sessionmaker[Session], ctx: Context, api: httpx.Client
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx)

    refused = api.put(
        f"/api/v1/contacts/{contact.id}/consents", json={"channel": "email", "status": "granted"}
    )

    assert refused.status_code == 422
    assert [(e["field"], e["message"]) for e in refused.json()["errors"]] == [
        ("topic", "needed to grant consent: what the person agreed to"),
        ("wording", "needed to grant consent: what the person agreed to"),
        ("version", "needed to grant consent: what the person agreed to"),
    ]


def test_an_unknown_contact_is_404_and_a_key_without_the_scope_403(
    sessions: sessionmaker[Session], client_with: Callable[..., httpx.Client]
) -> None:
    reader = client_with("contacts:read")
    messenger = client_with("messaging:write")

    assert messenger.get("/api/v1/contacts/424242/consents").status_code == 404
    change = {"channel": "email", "status": "revoked"}
    assert reader.put("/api/v1/contacts/424242/consents", json=change).status_code == 403
    assert messenger.put("/api/v1/contacts/424242/consents", json=change).status_code == 404
