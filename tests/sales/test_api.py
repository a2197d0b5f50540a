"""A developer runs lifecycle stages, routing, follow-ups, deals and accounts over the REST API."""

from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from tests.api.support import assert_error, message_of
from tests.factories import make_company, make_contact, make_user
from tests.sales.support import track

PRICING = {
    "event": "Page Viewed",
    "where": [{"property": "path", "operator": "starts_with", "value": "/pricing"}],
}


def test_a_key_without_the_sales_scope_is_refused(client_with: Callable[..., httpx.Client]) -> None:
    reader = client_with("sales:read")

    assert reader.get("/api/v1/stage-rules").json() == []
    assert_error(client_with("contacts:write").get("/api/v1/sales/teams"), 403)
    assert_error(reader.post("/api/v1/sales/teams", json={"name": "x"}), 403)


def test_a_marketer_defines_a_stage_rule_and_a_salesperson_moves_a_contact_back_on_purpose(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    ada = make_contact(session, ctx, lifecycle_stage="lead")
    track(session, ctx, ada.id, "Page Viewed", path="/pricing")

    bad = api.post("/api/v1/stage-rules", json={"name": "x", "stage": "mql",
                                                "condition": {"all": [{"event": "A", "within_last_days": -1}]}})  # fmt: skip
    created = api.post(
        "/api/v1/stage-rules", json={"name": "Pricing → MQL", "stage": "mql", "condition": PRICING}
    )
    applied = api.post("/api/v1/stage-rules/apply")
    back = api.post(f"/api/v1/contacts/{ada.id}/stage", json={"stage": "lead"})
    forced = api.post(
        f"/api/v1/contacts/{ada.id}/stage", json={"stage": "lead", "force": True, "reason": "wrong"}
    )
    history = api.get(f"/api/v1/contacts/{ada.id}/stage-history")

    assert_error(bad, 422, "condition.all[0].within_last_days")
    assert created.status_code == 201, created.text
    assert created.json()["warnings"] == []
    assert applied.json() == {"changed": 1, "entered": {"mql": 1}}
    body = assert_error(back, 409, "stage")
    assert message_of(body, "stage") == (
        f"contact {ada.id} is at mql; moving it back to lead needs force (a deliberate move back)"
    )
    assert forced.status_code == 200, forced.text
    assert (forced.json()["stage"], forced.json()["change"]["forced"]) == ("lead", True)
    assert [(h["from_stage"], h["to_stage"], h["source"]) for h in history.json()] == [
        (None, "lead", "api"), ("lead", "mql", "rule"), ("mql", "lead", "user"),
    ]  # fmt: skip
    assert_error(api.get("/api/v1/contacts/999999/stage-history"), 404)


def test_leads_are_routed_to_a_team_and_an_overdue_follow_up_is_escalated(
    api: httpx.Client, session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    manager = make_user(session, ctx, email="boss@funnelwise.example", role="admin")
    reps = [make_user(session, ctx).id for _ in range(2)]
    team = api.post("/api/v1/sales/teams", json={"name": "Inside sales", "manager_id": manager.id,
                                                 "member_ids": reps})  # fmt: skip
    rule = api.post("/api/v1/sales/assignment-rules", json={"name": "MQLs", "team_id": team.json()["id"],
                    "condition": {"property": "lifecycle_stage", "operator": "equals", "value": "mql"}})  # fmt: skip
    policy = api.post("/api/v1/sales/sla-policies", json={"name": "MQL in an hour", "stage": "mql",
                      "within_minutes": 60, "webhook_url": "https://10.1.2.3/hooks/sales"})  # fmt: skip
    leads = [make_contact(session, ctx, email=f"lead{n}@gmail.com").id for n in range(3)]
    for lead in leads:
        api.post(f"/api/v1/contacts/{lead}/stage", json={"stage": "mql"})
    assigned = api.post("/api/v1/sales/assign", json={"contact_ids": leads})
    clock.advance(timedelta(minutes=61))
    overdue = api.get("/api/v1/sales/tasks", params={"overdue": "true", "owner_id": reps[0]})
    api.post(f"/api/v1/sales/tasks/{overdue.json()['results'][0]['id']}/complete")
    report = api.post("/api/v1/sales/escalate")
    escalations = api.get(f"/api/v1/sales/tasks/{overdue.json()['results'][1]['id']}/escalations")

    assert team.status_code == 201, team.text
    assert team.json()["member_ids"] == reps
    assert rule.status_code == 201, rule.text
    assert policy.status_code == 201, policy.text
    assert policy.json()["webhook_secret"].startswith("whsec_")
    assert "webhook_secret" not in api.get("/api/v1/sales/sla-policies").json()[0]
    assert [(a["contact_id"], a["owner_id"], a["via"]) for a in assigned.json()] == [
        (leads[0], reps[0], "round_robin"), (leads[1], reps[1], "round_robin"), (leads[2], reps[0], "round_robin"),
    ]  # fmt: skip
    assert [t["contact_id"] for t in overdue.json()["results"]] == [leads[0], leads[2]]
    # No SMTP server is configured, and the webhook names a private address: both are reported.
    assert report.json() == {
        "overdue_tasks": 2,
        "queued": 4,
        "sent": 0,
        "retrying": 0,
        "failed": 4,
        "unknown": 0,
    }
    assert [(e["channel"], e["target"], e["status"]) for e in escalations.json()] == [
        ("email", "boss@funnelwise.example", "failed"), ("webhook", "https://10.1.2.3/hooks/sales", "failed"),
    ]  # fmt: skip
    assert escalations.json()[0]["error"].startswith("Config 'FUNNELWISE_SMTP_HOST' is missing")
    assert escalations.json()[1]["error"].startswith("10.1.2.3 resolves to 10.1.2.3, an internal address")


def test_a_deal_is_created_and_moved_and_the_account_shows_it(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    acme = make_company(session, ctx, name="Acme", domain="acme.co.kr")
    ceo = make_contact(session, ctx, email="ceo@acme.co.kr", job_title="대표")

    created = api.post("/api/v1/sales/deals", json={"name": "Acme pilot", "amount": "12,000,000원",
                                                    "contact_id": ceo.id, "stage": "proposal"})  # fmt: skip
    deal_id = created.json()["id"]
    lost = api.post(f"/api/v1/sales/deals/{deal_id}/move", json={"stage": "closed_lost"})
    moved = api.post(f"/api/v1/sales/deals/{deal_id}/move", json={"stage": "negotiation"})
    view = api.get(f"/api/v1/accounts/{acme.id}")

    assert created.status_code == 201, created.text
    assert (created.json()["amount"], created.json()["weighted_amount"], created.json()["company_id"]) == (
        12_000_000, 6_000_000, acme.id,
    )  # fmt: skip
    assert_error(lost, 422, "close_reason")
    assert (moved.json()["stage"], moved.json()["probability"]) == ("negotiation", 80)
    assert view.status_code == 200, view.text
    assert view.json()["deals"]["weighted_amount"] == 9_600_000
    assert (view.json()["buying_committee"], view.json()["engaged_buying_committee"]) == (1, 0)
    assert [s["key"] for s in api.get("/api/v1/sales/pipelines").json()[0]["stages"]][:2] == [
        "qualified",
        "meeting",
    ]
    assert_error(api.get("/api/v1/accounts/999999"), 404)
