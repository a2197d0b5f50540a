"""Over real HTTP: a marketer defines a broadcast, sends it, reads its figures, and cancels another."""

from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from tests.messaging.broadcasts.support import customers, email_template, outbox


def test_a_broadcast_is_created_sent_and_counted_over_the_api(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        members = customers(session, ctx, 3)
        email_template(session, ctx, "winter")

    created = api.post(
        "/api/v1/broadcasts",
        json={"name": "Winter sale", "template": "winter", "segment": "Customers", "throttle_per_minute": 60},
    )
    assert created.status_code == 201, created.text
    broadcast_id = created.json()["id"]
    assert (created.json()["status"], created.json()["channel"]) == ("draft", "email")

    sent = api.post(f"/api/v1/broadcasts/{broadcast_id}/send")
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["audience"]) == ("sent", 3)
    assert [r.contact_id for r in outbox(sessions, broadcast_id)] == members

    again = api.post(f"/api/v1/broadcasts/{broadcast_id}/send")
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "status"

    shown = api.get(f"/api/v1/broadcasts/{broadcast_id}").json()
    assert (shown["name"], shown["figures"]["total"]["messages"], shown["figures"]["total"]["queued"]) == (
        "Winter sale",
        3,
        3,
    )
    figures = api.get(f"/api/v1/broadcasts/{broadcast_id}/figures").json()
    assert (figures["total"]["sent"], figures["total"]["rates"]["opened"]) == (0, None)
    assert [b["name"] for b in api.get("/api/v1/broadcasts").json()] == ["Winter sale"]


def test_scheduling_and_cancelling_over_the_api(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        customers(session, ctx, 1)
        email_template(session, ctx, "winter")
    broadcast_id = api.post(
        "/api/v1/broadcasts", json={"name": "Winter sale", "template": "winter", "segment": "Customers"}
    ).json()["id"]
    at = (ctx.clock.now() + timedelta(days=1)).isoformat()

    scheduled = api.post(f"/api/v1/broadcasts/{broadcast_id}/schedule", json={"scheduled_at": at})
    assert (scheduled.status_code, scheduled.json()["status"]) == (200, "scheduled")
    cancelled = api.post(f"/api/v1/broadcasts/{broadcast_id}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    late = api.post(f"/api/v1/broadcasts/{broadcast_id}/schedule", json={"scheduled_at": at})
    assert late.status_code == 409


def test_bad_definitions_name_their_field_and_keys_need_the_messaging_scopes(
    api: httpx.Client, client_with: Callable[..., httpx.Client], sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        customers(session, ctx, 1)

    unknown = api.post("/api/v1/broadcasts", json={"name": "x", "template": "wintr", "segment": "Customers"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"field": "template", "message": "no message template named 'wintr'"}]
    bad = api.post(
        "/api/v1/broadcasts",
        json={"name": "x", "template": "t", "segment": "Customers", "throttle_per_minute": 0},
    )
    assert [e["field"] for e in bad.json()["errors"]] == ["throttle_per_minute"]
    assert api.get("/api/v1/broadcasts/999").status_code == 404

    reader = client_with("messaging:read")
    assert reader.get("/api/v1/broadcasts").status_code == 200
    assert reader.post("/api/v1/broadcasts", json={}).status_code == 403
    assert client_with("contacts:read").get("/api/v1/broadcasts").status_code == 403
