"""A developer defines score models over the REST API, follows the rescore and reads explanations."""

import time
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from tests.api.support import assert_error, message_of
from tests.conftest import START
from tests.factories import make_contact
from tests.scoring.support import ENGAGEMENT, track_at


def _until_current(api: httpx.Client, model_id: int, version: int) -> dict[str, Any]:
    """The model once the background rescore has made `version` current."""
    deadline = time.monotonic() + 20
    while True:
        model = api.get(f"/api/v1/score-models/{model_id}").json()
        if model["current"] and model["current"]["version"] == version:
            return model
        assert time.monotonic() < deadline, model
        time.sleep(0.05)


def test_a_model_is_created_scored_in_the_background_changed_and_explained(
    client_with: Callable[..., httpx.Client], session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    api = client_with("scoring:write")
    ada = make_contact(session, ctx)
    for _ in range(2):
        track_at(session, ctx, clock, START, ada.id, "Webinar Attended")
    track_at(session, ctx, clock, START, ada.id, "Page Viewed", seconds=5)
    track_at(session, ctx, clock, START, ada.id, "Unsubscribed")

    created = api.post("/api/v1/score-models", json=ENGAGEMENT)
    assert created.status_code == 201, created.text
    model = created.json()["model"]
    assert (created.json()["warnings"], model["building"]["version"], model["current"]) == ([], 1, None)
    model = _until_current(api, model["id"], 1)
    assert model["current"]["progress_done"] == model["current"]["progress_total"] == 1
    first = api.get(f"/api/v1/score-models/{model['id']}/contacts/{ada.id}").json()

    worth_more = [rule | {"points": 5} if rule["name"] == "webinar" else rule for rule in ENGAGEMENT["rules"]]
    changed = api.put(f"/api/v1/score-models/{model['id']}", json=ENGAGEMENT | {"rules": worth_more})
    assert changed.status_code == 200, changed.text
    _until_current(api, model["id"], 2)
    explained = api.get(f"/api/v1/score-models/{model['id']}/contacts/{ada.id}/explanation").json()
    everything = api.get(f"/api/v1/score-models/scores/{ada.id}").json()

    assert (first["score"], first["grade"]) == (-3, "1")
    assert [(c["rule"], c["kind"], c["points"], c["event"]) for c in explained["contributions"]] == [
        ("webinar", "event", 5, "Webinar Attended"),
        ("webinar", "event", 5, "Webinar Attended"),
        ("page visit", "event", 1, "Page Viewed"),
        ("unsubscribed", "event", -10, "Unsubscribed"),
    ]
    assert (explained["version"], explained["score"], explained["grade"]) == (2, 1, "1")
    assert [(s["model_name"], s["score"]) for s in everything] == [("engagement", 1)]


def test_bad_models_are_refused_by_path_with_the_reason(api: httpx.Client) -> None:
    not_a_number = ENGAGEMENT | {"rules": [ENGAGEMENT["rules"][0] | {"points": "lots"}]}
    unknown_event = ENGAGEMENT | {"rules": [ENGAGEMENT["rules"][2]]}

    refused = api.post("/api/v1/score-models", json=not_a_number)
    unknown = api.post("/api/v1/score-models", json=unknown_event)
    allowed = api.post("/api/v1/score-models", params={"allow_unknown": "true"}, json=unknown_event)

    assert message_of(assert_error(refused, 422, "rules[0].points"), "rules[0].points") == (
        "points must be a number, such as 2 or -10"
    )
    assert message_of(assert_error(unknown, 422, "rules[0].condition"), "rules[0].condition") == (
        "no event named 'Webinar Attended' has been recorded yet"
    )
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["warnings"] == [
        {"path": "rules[0].condition", "message": "no event named 'Webinar Attended' has been recorded yet"}
    ]
    assert_error(
        api.post("/api/v1/score-models", params={"allow_unknown": "true"}, json=unknown_event), 409, "name"
    )


def test_reading_needs_scoring_read_and_changing_needs_scoring_write(
    client_with: Callable[..., httpx.Client],
) -> None:
    reader = client_with("scoring:read")
    stranger = client_with("segments:write")

    assert reader.get("/api/v1/score-models").json() == []
    assert_error(reader.post("/api/v1/score-models", json=ENGAGEMENT), 403)
    assert_error(stranger.get("/api/v1/score-models"), 403)
    assert_error(reader.get("/api/v1/score-models/77"), 404)
