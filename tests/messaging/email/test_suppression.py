"""The suppression list: kept by the services and edited over the API."""

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.errors import InvalidInput, NotFound
from funnelwise.messaging.suppression import is_suppressed, suppress, suppressed_among, unsuppress


def test_an_address_is_kept_once_normalised_with_its_first_reason(session: Session, ctx: Context) -> None:
    assert suppress(session, ctx, "email", " MinSu@Example.co.kr ", "hard_bounce", "dsn", "550 5.1.1") is True
    assert suppress(session, ctx, "email", "minsu@example.co.kr", "complaint", "webhook:ses") is False
    assert suppress(session, ctx, "phone", "010-1234-5678", "manual", "api") is True
    session.commit()

    assert is_suppressed(session, "email", "MINSU@example.co.kr") is True
    assert is_suppressed(session, "phone", "+821012345678") is True
    assert suppressed_among(session, "email", ["Minsu@Example.co.kr", "other@example.org"]) == {
        "Minsu@Example.co.kr"
    }
    assert suppressed_among(session, "phone", []) == set()


def test_unsuppressing_takes_the_address_off_and_an_unknown_one_is_not_found(
    session: Session, ctx: Context
) -> None:
    suppress(session, ctx, "email", "minsu@example.co.kr", "manual", "api")

    unsuppress(session, ctx, "email", "MINSU@example.co.kr")

    assert is_suppressed(session, "email", "minsu@example.co.kr") is False
    with pytest.raises(NotFound):
        unsuppress(session, ctx, "email", "minsu@example.co.kr")


def test_a_bad_address_or_kind_names_the_field(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as bad_address:
        suppress(session, ctx, "email", "not-an-email", "manual", "api")
    with pytest.raises(InvalidInput) as bad_kind:
        suppress(session, ctx, "fax", "021234567", "manual", "api")

    assert [e.field for e in bad_address.value.errors] == ["address"]
    assert bad_kind.value.errors[0].message == "unknown kind 'fax', expected 'email' or 'phone'"


def test_the_api_adds_lists_shows_and_removes(api: httpx.Client) -> None:
    added = api.post(
        "/api/v1/suppressions",
        json={"kind": "email", "address": "Minsu@Example.co.kr", "detail": "asked by phone"},
    )
    again = api.post("/api/v1/suppressions", json={"kind": "email", "address": "minsu@example.co.kr"})
    api.post(
        "/api/v1/suppressions", json={"kind": "phone", "address": "01012345678", "reason": "unsubscribed"}
    )

    assert added.status_code == 201
    body = added.json()
    assert {k: body[k] for k in ("kind", "address", "reason", "detail", "source")} == {
        "kind": "email",
        "address": "minsu@example.co.kr",
        "reason": "manual",
        "detail": "asked by phone",
        "source": "api",
    }
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    listed = api.get("/api/v1/suppressions").json()
    assert [(s["kind"], s["address"]) for s in listed["results"]] == [
        ("phone", "+821012345678"),
        ("email", "minsu@example.co.kr"),
    ]
    assert (
        api.get("/api/v1/suppressions", params={"kind": "email", "limit": 1}).json()["next_before_id"] is None
    )
    first_page = api.get("/api/v1/suppressions", params={"limit": 1}).json()
    assert first_page["next_before_id"] == first_page["results"][0]["id"]
    assert api.get("/api/v1/suppressions/email/minsu@example.co.kr").json()["id"] == body["id"]

    removed = api.delete("/api/v1/suppressions/email/MINSU@example.co.kr")

    assert removed.status_code == 204
    assert api.get("/api/v1/suppressions/email/minsu@example.co.kr").status_code == 404
    assert api.delete("/api/v1/suppressions/email/minsu@example.co.kr").status_code == 404


def test_the_api_refuses_a_bad_address_and_a_key_that_may_only_read(
    api: httpx.Client, client_with: Callable[..., httpx.Client]
) -> None:
    bad = api.post("/api/v1/suppressions", json={"kind": "email", "address": "nobody"})
    reader = client_with("messaging:read")

    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["address"]
    assert reader.get("/api/v1/suppressions").status_code == 200
    assert (
        reader.post("/api/v1/suppressions", json={"kind": "email", "address": "a@example.org"}).status_code
        == 403
    )
