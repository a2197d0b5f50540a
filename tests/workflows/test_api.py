"""An integration validates and applies workflows over REST; a bad definition is a 422 naming the node."""

from collections.abc import Callable

import httpx

from tests.workflows.support import welcome


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
