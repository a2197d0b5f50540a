"""The tracking API answers once a call is durably accepted; the worker logs it moments later.

What an operator sees meanwhile: the intake's status, the warnings of what was logged.
"""

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.contacts.models import Contact
from funnelwise.tracking.models import Event, IntakeMessage
from funnelwise.tracking.sources import list_sources
from tests.tracking.support import NAMELESS, queue_nameless_track

Accept = Callable[..., httpx.Response]
Resolve = Callable[[], int]


def track(message_id: str, event: str = "Signed Up", **fields: Any) -> dict[str, Any]:
    return {"type": "track", "messageId": message_id, "userId": "u-1", "event": event, **fields}


def logged(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    """The event log as (message id, event name), in the order it was appended."""
    with sessions() as session:
        return [
            tuple(row) for row in session.execute(select(Event.message_id, Event.name).order_by(Event.id))
        ]


def waiting(sessions: sessionmaker[Session]) -> list[str]:
    """The message ids in the intake, oldest first."""
    with sessions() as session:
        return list(session.scalars(select(IntakeMessage.message_id).order_by(IntakeMessage.id)))


def test_accepted_calls_wait_in_the_intake_until_they_are_resolved(
    accept: Accept, sessions: sessionmaker[Session], resolve: Resolve, api: httpx.Client
) -> None:
    answer = accept(track("m-1"), track("m-2", "Demo Requested"))

    assert (answer.status_code, answer.json()) == (200, {"success": True})
    assert waiting(sessions) == ["m-1", "m-2"]
    assert logged(sessions) == []
    assert api.get("/api/v1/sources/intake").json() == {"waiting": 2, "failed": 0}

    assert resolve() == 2

    assert logged(sessions) == [("m-1", "Signed Up"), ("m-2", "Demo Requested")]
    assert waiting(sessions) == []
    assert api.get("/api/v1/sources/intake").json() == {"waiting": 0, "failed": 0}


def test_a_replay_of_a_logged_message_id_is_answered_as_a_duplicate_and_stores_nothing(
    accept: Accept, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    accept(track("m-1", "Signed Up"))
    resolve()

    replay = accept(track("m-1", "Changed Meanwhile"))

    assert replay.json() == {"success": True, "accepted": 0, "duplicates": 1, "rejected": []}
    assert waiting(sessions) == []
    assert resolve() == 0
    assert logged(sessions) == [("m-1", "Signed Up")]


def test_a_replay_of_a_message_still_waiting_is_logged_once(
    accept: Accept, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    first = accept(track("m-1", "Signed Up"), track("m-1", "Twice In One Batch"))
    again = accept(track("m-1", "Sent Again"), track("m-2"))

    # Within a batch the second is a duplicate; across batches both wait, and the log decides.
    assert first.json() == {"success": True, "accepted": 1, "duplicates": 1, "rejected": []}
    assert again.json() == {"success": True}
    assert waiting(sessions) == ["m-1", "m-1", "m-2"]

    assert resolve() == 3

    assert logged(sessions) == [("m-1", "Signed Up"), ("m-2", "Signed Up")]
    assert waiting(sessions) == []


def test_the_intake_status_needs_a_key_that_reads_tracking(
    accept: Accept, live_server: str, client_with: Callable[..., httpx.Client]
) -> None:
    accept(track("m-1"), track("m-2"), track("m-3"))

    reader = client_with("tracking:read").get("/api/v1/sources/intake")
    other = client_with("contacts:write").get("/api/v1/sources/intake")
    nobody = httpx.get(f"{live_server}/api/v1/sources/intake")

    assert (reader.status_code, reader.json()) == (200, {"waiting": 3, "failed": 0})
    assert (other.status_code, other.json()["detail"]) == (
        403,
        "this API key lacks the scope 'tracking:read'",
    )
    assert nobody.status_code == 401


def test_the_warnings_of_what_a_source_sent_are_listed_newest_first(
    accept: Accept,
    resolve: Resolve,
    sessions: sessionmaker[Session],
    api: httpx.Client,
    client_with: Callable[..., httpx.Client],
) -> None:
    accept({"type": "identify", "messageId": "owner", "userId": "u-1", "traits": {"email": "kim@acme.co.kr"}})
    resolve()
    accept(
        {"type": "identify", "messageId": "w-1", "userId": "u-2", "traits": {"email": "kim@acme.co.kr"}},
        {"type": "track", "messageId": "w-2", "userId": "u-2", "event": "Order Refunded",
         "properties": {"order_id": "NOPE"}},
    )  # fmt: skip
    resolve()
    [website] = api_sources(sessions)
    other = api.post("/api/v1/sources", json={"name": "app"}).json()

    listed = client_with("tracking:read").get(f"/api/v1/sources/{website}/warnings")
    newest = api.get(f"/api/v1/sources/{website}/warnings", params={"limit": 1})
    quiet = api.get(f"/api/v1/sources/{other['id']}/warnings")
    unknown = api.get("/api/v1/sources/424242/warnings")
    huge = api.get(f"/api/v1/sources/{2**64}/warnings")
    refused = client_with("contacts:read").get(f"/api/v1/sources/{website}/warnings")

    owner = f"contact {contact_of(sessions, 'u-1')}"
    assert listed.status_code == 200
    assert [(w["message_id"], w["field"], w["message"]) for w in listed.json()] == [
        ("w-2", "properties.order_id", "no order 'NOPE' has been completed"),
        ("w-1", "traits.email", f"'kim@acme.co.kr' belongs to {owner}; left there"),
    ]
    assert {w["created_at"] for w in listed.json()} == {"2026-11-22T01:00:00Z"}
    assert [w["message_id"] for w in newest.json()] == ["w-2"]
    assert (quiet.status_code, quiet.json()) == (200, [])
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "source 424242 not found")
    assert huge.status_code == 422
    assert refused.status_code == 403


def api_sources(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return [s.id for s in list_sources(session)]


def contact_of(sessions: sessionmaker[Session], user_id: str) -> int:
    with sessions() as session:
        return session.scalars(select(Contact.id).where(Contact.user_id == user_id)).one()


def test_failed_calls_are_listed_with_their_error_and_a_writer_puts_them_back(
    accept: Accept,
    resolve: Resolve,
    sessions: sessionmaker[Session],
    api: httpx.Client,
    client_with: Callable[..., httpx.Client],
) -> None:
    accept(track("m-1"))
    poison = queue_nameless_track(sessions, "poison")
    resolve()
    [website] = api_sources(sessions)
    reader, other = client_with("tracking:read"), client_with("contacts:write")

    failed = reader.get("/api/v1/sources/intake/failed")
    assert failed.status_code == 200
    [failure] = failed.json()
    assert failure["error"].splitlines()[0] == NAMELESS[sessions.kw["bind"].dialect.name]
    assert {k: v for k, v in failure.items() if k != "error"} == {
        "id": poison,
        "message_id": "poison",
        "source_id": website,
        "received_at": "2026-11-22T01:00:00Z",
        "failed_at": "2026-11-22T01:00:00Z",
    }
    assert reader.get("/api/v1/sources/intake").json() == {"waiting": 0, "failed": 1}
    assert other.get("/api/v1/sources/intake/failed").status_code == 403

    refused = reader.post("/api/v1/sources/intake/retry")
    retried = client_with("tracking:write").post("/api/v1/sources/intake/retry")

    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "this API key lacks the scope 'tracking:write'",
    )
    assert (retried.status_code, retried.json()) == (200, {"retried": 1})
    assert api.get("/api/v1/sources/intake").json() == {"waiting": 1, "failed": 0}
    assert api.get("/api/v1/sources/intake/failed").json() == []
    assert api.post("/api/v1/sources/intake/retry").json() == {"retried": 0}
    assert waiting(sessions) == ["poison"]
    assert logged(sessions) == [("m-1", "Signed Up")]


def test_an_integer_beyond_64_bits_waits_in_the_intake_and_is_logged_exactly(
    tracking: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    huge = 2**70 + 1
    message = {
        "type": "track",
        "messageId": "big-1",
        "userId": "u-1",
        "event": "Measured",
        "properties": {"n": huge},
    }

    assert tracking.post("/v1/track", json=message).status_code == 200

    with sessions() as session:
        properties = session.scalars(select(Event.properties).where(Event.message_id == "big-1")).one()
    assert properties == {"n": huge}
