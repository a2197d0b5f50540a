"""A stage set as a contact field (create, PATCH, batch, CSV import) is a person's deliberate move:
allowed in any direction, and written to the stage history and the log like every other change."""

import io
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.bulk import UpdatePolicy
from funnelwise.contacts.importer import ImportOptions, ImportSummary, import_contacts
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.csvfile import RowError
from funnelwise.sales.lifecycle import stage_history
from tests.factories import make_contact
from tests.sales.support import logged

T0 = "2026-11-22T01:00:00+00:00"
T5 = "2026-11-22T01:05:00+00:00"


def _history(session: Session, contact_id: int) -> list[tuple[str | None, str, str, str, bool]]:
    return [
        (h.from_stage, h.to_stage, h.entered_at.isoformat(), h.source, h.forced)
        for h in stage_history(session, contact_id)
    ]


def _import(
    sessions: sessionmaker[Session], ctx: Context, data: str, policy: UpdatePolicy = UpdatePolicy.OVERWRITE
) -> ImportSummary:
    bad: list[RowError] = []
    summary = import_contacts(
        sessions, ctx, io.BytesIO(data.encode()), ImportOptions(policy=policy), on_error=bad.append
    )
    assert bad == []
    return summary


def test_a_patch_of_the_stage_writes_the_history_and_the_event_forward_or_back(
    api: httpx.Client, session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    ada = make_contact(session, ctx)

    forward = api.patch(f"/api/v1/contacts/{ada.id}", json={"lifecycle_stage": "mql"})
    clock.advance(timedelta(minutes=5))
    back = api.patch(f"/api/v1/contacts/{ada.id}", json={"lifecycle_stage": "lead"})
    same = api.patch(f"/api/v1/contacts/{ada.id}", json={"lifecycle_stage": "LEAD", "first_name": "Ada"})
    other = api.patch(f"/api/v1/contacts/{ada.id}", json={"job_title": "CTO"})

    assert [r.status_code for r in (forward, back, same, other)] == [200, 200, 200, 200]
    assert back.json()["lifecycle_stage"] == "lead"
    assert _history(session, ada.id) == [(None, "mql", T0, "api", False), ("mql", "lead", T5, "api", True)]
    assert logged(session, "Lifecycle Stage Changed") == [
        (f"stage-{ada.id}-mql-{T0}", ada.id, {"from_stage": None, "to_stage": "mql", "source": "api"}),
        (f"stage-{ada.id}-lead-{T5}", ada.id,
         {"from_stage": "mql", "to_stage": "lead", "source": "api", "forced": True}),
    ]  # fmt: skip


def test_creating_a_contact_with_a_stage_records_entering_it_and_clearing_it_records_nothing(
    api: httpx.Client, session: Session
) -> None:
    created = api.post("/api/v1/contacts", json={"email": "kim@acme.co.kr", "lifecycle_stage": "고객"})
    without = api.post("/api/v1/contacts", json={"email": "lee@acme.co.kr"})
    contact_id = created.json()["id"]
    cleared = api.patch(f"/api/v1/contacts/{contact_id}", json={"lifecycle_stage": None})

    assert created.status_code == 201, created.text
    assert cleared.json()["lifecycle_stage"] is None
    assert _history(session, contact_id) == [(None, "customer", T0, "api", False)]
    assert _history(session, without.json()["id"]) == []
    assert [(m, c) for m, c, _p in logged(session, "Lifecycle Stage Changed")] == [
        (f"stage-{contact_id}-customer-{T0}", contact_id)
    ]


def test_a_batch_upsert_records_the_stages_it_changes(
    api: httpx.Client, session: Session, ctx: Context
) -> None:
    customer = make_contact(session, ctx, email="kim@acme.co.kr", lifecycle_stage="customer")
    lead = make_contact(session, ctx, email="lee@acme.co.kr", lifecycle_stage="lead")

    answer = api.post("/api/v1/contacts/batch", json={"contacts": [
        {"email": "kim@acme.co.kr", "lifecycle_stage": "opportunity"},
        {"email": "lee@acme.co.kr", "lifecycle_stage": "lead", "first_name": "Lee"},
        {"email": "park@acme.co.kr", "lifecycle_stage": "subscriber"},
    ]})  # fmt: skip

    assert answer.status_code == 200, answer.text
    park = answer.json()["results"][2]["id"]
    assert _history(session, customer.id)[1:] == [("customer", "opportunity", T0, "api", True)]
    assert _history(session, lead.id)[1:] == []
    assert _history(session, park) == [(None, "subscriber", T0, "api", False)]


def test_an_import_records_each_stage_it_sets_with_source_import(
    sessions: sessionmaker[Session], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    customer = make_contact(session, ctx, email="kim@acme.co.kr", lifecycle_stage="customer")
    mql = make_contact(session, ctx, email="lee@acme.co.kr", lifecycle_stage="mql")
    blank = make_contact(session, ctx, email="choi@acme.co.kr", lifecycle_stage="lead")
    clock.advance(timedelta(minutes=5))
    data = (
        "이메일,고객단계\n"
        "kim@acme.co.kr,리드\n"  # back from customer to lead: a deliberate move
        "lee@acme.co.kr,sql\n"  # forward
        "choi@acme.co.kr,\n"  # a blank cell leaves the stage alone
        "park@acme.co.kr,mql\n"  # a new contact entering mql
    )

    summary = _import(sessions, ctx, data)

    assert (summary.created, summary.updated, summary.unchanged) == (1, 2, 1)
    assert _history(session, customer.id)[1:] == [("customer", "lead", T5, "import", True)]
    assert _history(session, mql.id)[1:] == [("mql", "sql", T5, "import", False)]
    assert _history(session, blank.id)[1:] == []
    by_import = [
        (c, p["from_stage"], p["to_stage"])
        for _m, c, p in logged(session, "Lifecycle Stage Changed")
        if p["source"] == "import"
    ]
    park = session.scalars(select(Contact.id).where(Contact.email == "park@acme.co.kr")).one()
    assert sorted(by_import) == [
        (customer.id, "customer", "lead"),
        (mql.id, "mql", "sql"),
        (park, None, "mql"),
    ]


def test_an_import_that_fills_empty_fields_records_only_the_stages_it_filled(
    sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    staged = make_contact(session, ctx, email="kim@acme.co.kr", lifecycle_stage="customer")
    empty = make_contact(session, ctx, email="lee@acme.co.kr")
    data = "email,lifecycle_stage\nkim@acme.co.kr,lead\nlee@acme.co.kr,lead\n"

    _import(sessions, ctx, data, UpdatePolicy.FILL_EMPTY)

    assert _history(session, staged.id) == [(None, "customer", T0, "api", False)]
    assert _history(session, empty.id) == [(None, "lead", T0, "import", False)]
