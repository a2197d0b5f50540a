"""An integration applies workflows over REST, enrolls contacts and follows them; bad requests name the field."""

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.messaging.sender import Sender
from funnelwise.tracking.log import record_event
from funnelwise.workflows.engine import run_all_due
from tests.factories import make_contact, make_template
from tests.workflows.support import make_welcome_templates, welcome


@pytest.fixture(autouse=True)
def _welcome_emails(sessions: sessionmaker[Session], ctx: Context) -> None:
    """The emails the `welcome` journeys send exist."""
    with sessions() as session:
        make_welcome_templates(session, ctx)
        make_template(session, ctx, "second-tip")


def test_a_dangling_step_is_a_422_with_its_path(api: httpx.Client) -> None:
    steps = welcome()["steps"]

    response = api.post(
        "/api/v1/workflows/validate", json=welcome(steps=[{**steps[0], "next": "nowhere"}, *steps[1:]])
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "steps[0].next", "message": "step 'hello' goes to 'nowhere', but no step has that id"}
    ]


def test_a_workflow_is_applied_read_with_its_versions_paused_and_resumed(api: httpx.Client) -> None:
    valid = api.post("/api/v1/workflows/validate", json=welcome())
    created = api.post("/api/v1/workflows", json=welcome())
    steps = welcome()["steps"]
    changed = api.post(
        "/api/v1/workflows", json=welcome(steps=[*steps[:2], {**steps[2], "template": "second-tip"}])
    )
    workflow_id = created.json()["workflow"]["id"]
    resumed = api.post(f"/api/v1/workflows/{workflow_id}/resume")
    paused = api.post(f"/api/v1/workflows/{workflow_id}/pause")
    listed = api.get("/api/v1/workflows")
    detail = api.get(f"/api/v1/workflows/{workflow_id}")

    assert valid.json() == {"name": "welcome", "steps": 3, "warnings": []}
    assert created.status_code == 201
    assert (changed.status_code, changed.json()["changed"], changed.json()["workflow"]["version"]) == (
        200,
        True,
        2,
    )
    assert (resumed.json()["status"], paused.json()["status"]) == ("active", "paused")
    assert [(w["name"], w["status"], w["version"]) for w in listed.json()] == [("welcome", "paused", 2)]
    versions = detail.json()["versions"]
    assert [(v["version"], v["definition"]["steps"][2]["template"]) for v in versions] == [
        (2, "second-tip"),
        (1, "first-tip"),
    ]


def test_reading_keys_may_validate_but_not_apply(client_with: Callable[..., httpx.Client]) -> None:
    reader = client_with("workflows:read")

    assert reader.post("/api/v1/workflows/validate", json=welcome()).status_code == 200
    assert reader.post("/api/v1/workflows", json=welcome()).status_code == 403
    assert reader.get("/api/v1/workflows/99").status_code == 404


def test_a_marketer_enrolls_three_contacts_and_follows_them_step_by_step(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ids = [make_contact(session, ctx).id for _ in range(3)]
    workflow_id = api.post("/api/v1/workflows", json=welcome()).json()["workflow"]["id"]
    api.post(f"/api/v1/workflows/{workflow_id}/resume")

    enrolled = api.post(
        f"/api/v1/workflows/{workflow_id}/enrollments", json={"contact_ids": [*ids, 999_999], "key": "launch"}
    )
    run_all_due(sessions, ctx)
    status = api.get(f"/api/v1/workflows/{workflow_id}/status")
    first_page = api.get(f"/api/v1/workflows/{workflow_id}/enrollments?status=active&step=pause&limit=2")
    cursor = first_page.json()["next_cursor"]
    second_page = api.get(
        f"/api/v1/workflows/{workflow_id}/enrollments", params={"step": "pause", "cursor": cursor}
    )
    none_done = api.get(f"/api/v1/workflows/{workflow_id}/enrollments?status=completed")
    journeys = api.get(f"/api/v1/contacts/{ids[0]}/journeys")

    assert enrolled.status_code == 200
    assert enrolled.json() == {
        "enrolled": ids,
        "skipped": [{"contact_id": 999_999, "reason": "no such contact"}],
    }
    [version] = status.json()["versions"]
    assert [
        (s["step_id"], s["entered"], s["waiting"], s["completed"], s["exited"]) for s in version["steps"]
    ] == [("hello", 3, 0, 3, 0), ("pause", 3, 3, 0, 0), ("tip", 0, 0, 0, 0)]
    assert version["totals"] == {
        "enrolled": 3,
        "active": 3,
        "completed": 0,
        "exited": 0,
        "converted": 0,
        "failed": 0,
    }
    assert [e["contact_id"] for e in first_page.json()["results"]] == [ids[2], ids[1]]
    assert [e["contact_id"] for e in second_page.json()["results"]] == [ids[0]]
    assert second_page.json()["next_cursor"] is None
    assert none_done.json() == {"results": [], "next_cursor": None}
    [journey] = journeys.json()
    assert (journey["workflow"], journey["status"], journey["current_step"]) == ("welcome", "active", "pause")
    assert journey["due_at"] == (clock.now() + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert [(s["step_id"], s["type"], s["outcome"]) for s in journey["steps"]] == [
        ("hello", "send", "queued email message 'welcome'")
    ]


def test_migrating_moves_waiting_enrollments_to_the_newest_version(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx).id
    workflow_id = api.post("/api/v1/workflows", json=welcome()).json()["workflow"]["id"]
    api.post(f"/api/v1/workflows/{workflow_id}/resume")
    api.post(f"/api/v1/workflows/{workflow_id}/enrollments", json={"contact_ids": [ada]})
    run_all_due(sessions, ctx)
    steps = welcome()["steps"]
    api.post("/api/v1/workflows", json=welcome(steps=[*steps[:2], {**steps[2], "template": "second-tip"}]))

    unknown_version = api.post(f"/api/v1/workflows/{workflow_id}/migrate", json={"to_version": 9})
    migrated = api.post(f"/api/v1/workflows/{workflow_id}/migrate")
    again = api.post(f"/api/v1/workflows/{workflow_id}/migrate", json={"to_version": 2})
    listed = api.get(f"/api/v1/workflows/{workflow_id}/enrollments")

    assert unknown_version.status_code == 422
    assert unknown_version.json()["errors"] == [
        {"field": "to_version", "message": "workflow 'welcome' has no version 9; the newest is 2"}
    ]
    assert migrated.json() == {"to_version": 2, "moved": 1, "stranded": []}
    assert again.json() == {"to_version": 2, "moved": 0, "stranded": []}
    assert [(e["contact_id"], e["version"], e["step_id"]) for e in listed.json()["results"]] == [
        (ada, 2, "pause")
    ]


def test_enrolling_in_a_draft_is_a_409_and_bad_bodies_are_422s_naming_the_field(api: httpx.Client) -> None:
    workflow_id = api.post("/api/v1/workflows", json=welcome()).json()["workflow"]["id"]
    enrollments = f"/api/v1/workflows/{workflow_id}/enrollments"

    draft = api.post(enrollments, json={"contact_ids": [1]})
    not_a_list = api.post(enrollments, json={"contact_ids": "1"})
    unknown_field = api.post(enrollments, json={"contact_ids": [1], "contacts": [2]})
    too_large = api.post(enrollments, json={"contact_ids": [2**64]})
    bad_version = api.post(f"/api/v1/workflows/{workflow_id}/migrate", json={"to_version": 0})
    bad_status = api.get(f"{enrollments}?status=sleeping")
    bad_cursor = api.get(f"{enrollments}?cursor=nonsense")

    assert draft.status_code == 409
    assert draft.json()["errors"][0]["message"] == "workflow 'welcome' is draft; resume it to enroll contacts"
    assert [r.status_code for r in (not_a_list, unknown_field, too_large, bad_version, bad_status)] == [
        422
    ] * 5
    assert [e["field"] for e in not_a_list.json()["errors"]] == ["contact_ids"]
    assert unknown_field.json()["errors"] == [{"field": "contacts", "message": "unknown field"}]
    assert [e["field"] for e in too_large.json()["errors"]] == ["contact_ids.0"]
    assert [e["field"] for e in bad_version.json()["errors"]] == ["to_version"]
    assert [e["field"] for e in bad_status.json()["errors"]] == ["status"]
    assert bad_cursor.json()["errors"] == [{"field": "cursor", "message": "not a cursor this API handed out"}]


def test_unknown_workflows_and_contacts_are_404s(api: httpx.Client) -> None:
    responses = [
        api.get("/api/v1/workflows/99/status"),
        api.get("/api/v1/workflows/99/enrollments"),
        api.post("/api/v1/workflows/99/enrollments", json={"contact_ids": [1]}),
        api.post("/api/v1/workflows/99/migrate"),
        api.get("/api/v1/contacts/99/journeys"),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert [r.json()["detail"] for r in responses] == [
        *["workflow 99 not found"] * 4,
        "contact 99 not found",
    ]


def test_reading_keys_may_watch_but_not_enroll_or_migrate(
    api: httpx.Client, client_with: Callable[..., httpx.Client]
) -> None:
    workflow_id = api.post("/api/v1/workflows", json=welcome()).json()["workflow"]["id"]
    reader = client_with("workflows:read")

    assert reader.get(f"/api/v1/workflows/{workflow_id}/status").status_code == 200
    assert reader.get(f"/api/v1/workflows/{workflow_id}/enrollments").status_code == 200
    assert (
        reader.post(f"/api/v1/workflows/{workflow_id}/enrollments", json={"contact_ids": []}).status_code
        == 403
    )
    assert reader.post(f"/api/v1/workflows/{workflow_id}/migrate").status_code == 403


def test_a_workflows_figures_count_its_messages_per_send_step_and_the_conversions(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada, bob = (make_contact(session, ctx).id for _ in range(2))
    workflow_id = api.post("/api/v1/workflows", json=welcome()).json()["workflow"]["id"]
    api.post(f"/api/v1/workflows/{workflow_id}/resume")
    api.post(f"/api/v1/workflows/{workflow_id}/enrollments", json={"contact_ids": [ada, bob]})
    run_all_due(sessions, ctx)
    with Sender(sessions, ctx) as sender:
        sender.deliver_all_due()
    clock.advance(timedelta(hours=2))
    with sessions() as session:
        record_event(session, ctx, ada, "Signed Up", {})
        session.commit()

    figures = api.get(f"/api/v1/workflows/{workflow_id}/figures", params={"conversion_event": "Signed Up"})

    assert figures.status_code == 200, figures.text
    [hello] = figures.json()["steps"]
    assert (hello["step_id"], hello["messages"], hello["sent"], hello["converted"]) == ("hello", 2, 2, 1)
    assert api.get("/api/v1/workflows/999999/figures").status_code == 404
