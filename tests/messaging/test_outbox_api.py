"""A new user runs a journey with no provider configured and reads what would have been sent."""

import httpx
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.workflows.engine import run_all_due
from funnelwise.workflows.schemas import EnrollIn
from funnelwise.workflows.service import apply_workflow, enroll_contacts, resume_workflow
from tests.factories import make_contact
from tests.workflows.support import welcome


def test_the_outbox_lists_queued_messages_newest_first_by_contact_and_pages_on(
    sessions: sessionmaker[Session], ctx: Context, api: httpx.Client, client_with
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com").id
        bob = make_contact(session, ctx, email="bob@example.com").id
        workflow_id = apply_workflow(session, ctx, welcome(), allow_unknown=True).workflow.id
        resume_workflow(session, ctx, workflow_id)
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada, bob]))
        session.commit()
    run_all_due(sessions, ctx)

    everything = api.get("/api/v1/outbox").json()
    assert [(m["contact_id"], m["template"], m["status"]) for m in everything["results"]] == [
        (bob, "welcome", "queued"),
        (ada, "welcome", "queued"),
    ]
    first = api.get("/api/v1/outbox", params={"limit": 1}).json()
    rest = api.get("/api/v1/outbox", params={"limit": 1, "before_id": first["next_before_id"]}).json()
    assert [m["contact_id"] for m in first["results"] + rest["results"]] == [bob, ada]
    assert rest["next_before_id"] is None
    only_ada = api.get("/api/v1/outbox", params={"contact_id": ada}).json()["results"]
    assert [m["idempotency_key"] for m in only_ada] == [everything["results"][1]["idempotency_key"]]

    assert api.get("/api/v1/outbox", params={"status": "lost"}).status_code == 422
    assert client_with("contacts:read").get("/api/v1/outbox").status_code == 403
