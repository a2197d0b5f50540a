"""Only requests carrying a live API key with the right scope reach the contacts routes."""

from collections.abc import Callable

import httpx
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.auth.api_keys import create_api_key, revoke_api_key
from funnelwise.context import Context
from tests.api.support import assert_error

Clients = Callable[..., httpx.Client]
NEW_CONTACT = {"email": "kim.minsu@acme.co.kr"}


def test_a_request_without_a_key_is_challenged(live_server: str, clean_db: None) -> None:
    response = httpx.get(f"{live_server}/api/v1/contacts")

    body = assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in body["detail"]


def test_a_key_sent_another_way_than_bearer_counts_as_missing(live_server: str, clean_db: None) -> None:
    response = httpx.get(f"{live_server}/api/v1/contacts", headers={"Authorization": "Basic a2ltOnB3"})

    assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_wrong_token_is_refused(live_server: str, client_with: Clients) -> None:
    client_with("*")  # a real key exists; these tokens are not it
    for token in ("nonsense", "fw_000000000000_guess", "fw__", "fw_a_b_c"):
        response = httpx.get(f"{live_server}/api/v1/contacts", headers={"Authorization": f"Bearer {token}"})

        body = assert_error(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        assert body["detail"] == "invalid or revoked API key"


def test_a_token_with_a_real_prefix_and_a_forged_secret_is_refused(
    live_server: str, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions.begin() as session:
        key, token = create_api_key(session, ctx, "website", ["*"])
    forged = f"fw_{key.prefix}_{'x' * 43}"
    assert forged != token

    response = httpx.get(f"{live_server}/api/v1/contacts", headers={"Authorization": f"Bearer {forged}"})

    assert_error(response, 401)


def test_a_revoked_key_stops_working_at_once(
    live_server: str, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions.begin() as session:
        key, token = create_api_key(session, ctx, "old backend", ["contacts:read"])
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live_server}/api/v1/contacts", headers=headers).status_code == 200

    with sessions.begin() as session:
        revoke_api_key(session, ctx, key.prefix)
    response = httpx.get(f"{live_server}/api/v1/contacts", headers=headers)

    body = assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["detail"] == "invalid or revoked API key"


def test_a_read_key_may_read_but_not_write(client_with: Clients) -> None:
    reader = client_with("contacts:read")

    assert reader.get("/api/v1/contacts").status_code == 200
    assert reader.get("/api/v1/companies").status_code == 200
    assert reader.get("/api/v1/properties/contact").status_code == 200
    response = reader.post("/api/v1/contacts", json=NEW_CONTACT)

    body = assert_error(response, 403)
    assert "www-authenticate" not in response.headers
    assert "'contacts:write'" in body["detail"]
    assert reader.get("/api/v1/contacts").json()["results"] == []


def test_a_write_key_may_read_too(client_with: Clients) -> None:
    writer = client_with("contacts:write")

    created = writer.post("/api/v1/contacts", json=NEW_CONTACT)
    assert created.status_code == 201, created.text
    listed = writer.get("/api/v1/contacts")

    assert listed.status_code == 200
    assert [c["email"] for c in listed.json()["results"]] == ["kim.minsu@acme.co.kr"]


def test_a_key_of_another_domain_may_not_touch_contacts(client_with: Clients) -> None:
    segments = client_with("segments:read", "segments:write")

    read = segments.get("/api/v1/contacts")
    written = segments.post("/api/v1/contacts", json=NEW_CONTACT)

    assert "'contacts:read'" in assert_error(read, 403)["detail"]
    assert "'contacts:write'" in assert_error(written, 403)["detail"]


def test_the_health_check_needs_no_key(live_server: str, clean_db: None) -> None:
    assert httpx.get(f"{live_server}/healthz").status_code == 200
