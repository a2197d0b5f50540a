"""A source sends Segment-spec calls over HTTP; each is stored once, or refused alone with its reason."""

import copy
import gzip
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.models import Company, Contact
from funnelwise.tracking.models import Event

Send = Callable[..., httpx.Response]


def stored_events(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def stored_contacts(sessions: sessionmaker[Session]) -> list[Contact]:
    with sessions() as session:
        return list(session.scalars(select(Contact).order_by(Contact.id)))


def track(number: int, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Viewed Pricing", "userId": "u-1", "messageId": f"m-{number}", **fields}


# ----- the endpoints -----


def test_every_call_has_its_endpoint_and_is_stored_under_its_name(
    tracking: httpx.Client, sessions: sessionmaker[Session], clock: SimulatedClock
) -> None:
    calls = [
        ("identify", {"userId": "u-1", "traits": {"email": "kim@acme.co.kr", "name": "김민수"}}),
        ("track", {"userId": "u-1", "event": "Signed Up", "properties": {"plan": "pro"}}),
        ("page", {"userId": "u-1", "name": "Pricing", "properties": {"url": "https://acme.co.kr/pricing"}}),
        ("screen", {"userId": "u-1", "name": "Home"}),
        (
            "group",
            {
                "userId": "u-1",
                "groupId": "acme",
                "traits": {"name": "에이크미", "employees": 120, "website": "https://www.acme.co.kr"},
            },
        ),
        ("alias", {"userId": "u-2", "previousId": "u-1"}),
    ]

    answers = [tracking.post(f"/v1/{kind}", json={**body, "messageId": kind}) for kind, body in calls]

    assert [(a.status_code, a.json()) for a in answers] == [(200, {"success": True})] * 6
    events = stored_events(sessions)
    assert [(e.message_id, e.type, e.name) for e in events] == [
        ("identify", "identify", "Identify"),
        ("track", "track", "Signed Up"),
        ("page", "page", "Page Viewed"),
        ("screen", "screen", "Screen Viewed"),
        ("group", "group", "Group"),
        ("alias", "alias", "Alias"),
    ]
    [contact] = stored_contacts(sessions)
    assert {e.contact_id for e in events} == {contact.id}
    assert (contact.user_id, contact.email, contact.first_name, contact.last_name) == (
        "u-2",
        "kim@acme.co.kr",
        "민수",
        "김",
    )
    assert events[1].properties == {"plan": "pro"}
    assert events[2].properties == {"url": "https://acme.co.kr/pricing", "name": "Pricing"}
    assert events[4].properties == {
        "group_id": "acme",
        "name": "에이크미",
        "employees": 120,
        "website": "https://www.acme.co.kr",
    }
    assert events[5].properties == {"previous_id": "u-1"}
    assert {e.received_at for e in events} == {clock.now()}
    with sessions() as session:
        company = session.get(Company, contact.company_id)
        assert company is not None
        assert (company.external_id, company.name, company.domain, company.size_band) == (
            "acme",
            "에이크미",
            "acme.co.kr",
            "51-200",
        )
        assert session.scalar(select(func.count()).select_from(Company)) == 1


def test_a_batch_stores_calls_of_every_type_and_says_success(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    answer = send(
        {"type": "page", "anonymousId": "a-1", "messageId": "m-1"},
        {"type": "identify", "anonymousId": "a-1", "userId": "u-1", "messageId": "m-2"},
        track(3),
    )

    assert (answer.status_code, answer.json()) == (200, {"success": True})
    assert [e.message_id for e in stored_events(sessions)] == ["m-1", "m-2", "m-3"]


def test_the_write_key_may_come_in_the_body_as_browsers_beacons_send_it(
    live_server: str, write_key: str, sessions: sessionmaker[Session], resolve: Callable[[], int]
) -> None:
    body = {"writeKey": write_key, "batch": [track(1)]}

    answer = httpx.post(
        f"{live_server}/v1/batch", content=json.dumps(body), headers={"content-type": "text/plain"}
    )

    assert (answer.status_code, answer.json()) == (200, {"success": True})
    resolve()
    assert [e.message_id for e in stored_events(sessions)] == ["m-1"]


def test_the_events_remember_their_source_and_what_the_request_said_about_the_sender(
    tracking: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    tracking.post(
        "/v1/track", json=track(1, context={"locale": "ko-KR"}), headers={"user-agent": "Mozilla/5.0"}
    )

    [event] = stored_events(sessions)
    assert event.source_id is not None
    assert event.context == {"locale": "ko-KR", "ip": "127.0.0.1", "userAgent": "Mozilla/5.0"}


def test_a_batchs_shared_context_goes_into_each_message_whose_own_context_wins(
    tracking: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    body = {
        "batch": [track(1, context={"locale": "en-US"}), track(2)],
        "context": {"locale": "ko-KR", "timezone": "Asia/Seoul"},
    }

    tracking.post("/v1/batch", json=body)

    contexts = [e.context for e in stored_events(sessions)]
    assert [(c["locale"], c["timezone"]) for c in contexts] == [
        ("en-US", "Asia/Seoul"),
        ("ko-KR", "Asia/Seoul"),
    ]


# ----- authentication -----


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        (("not-a-key", ""), "writeKey: unknown or revoked write key"),
        (None, "writeKey: send the source's write key as the Basic username"),
    ],
)
def test_a_wrong_or_missing_write_key_is_401_in_segments_words(
    live_server: str, sessions: sessionmaker[Session], auth: tuple[str, str] | None, message: str
) -> None:
    answer = httpx.post(f"{live_server}/v1/batch", json={"batch": [track(1)]}, auth=auth)

    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert answer.json()["message"] == message
    assert answer.headers["www-authenticate"] == 'Basic realm="write key"'
    assert stored_events(sessions) == []


def test_a_revoked_sources_key_is_refused_from_then_on(
    tracking: httpx.Client, api: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    [source] = api.get("/api/v1/sources").json()
    assert tracking.post("/v1/track", json=track(1)).status_code == 200

    api.post(f"/api/v1/sources/{source['id']}/revoke")
    answer = tracking.post("/v1/track", json=track(2))

    assert answer.status_code == 401
    assert (answer.json()["code"], answer.json()["message"]) == (
        "unauthorized",
        "writeKey: unknown or revoked write key",
    )
    assert [e.message_id for e in stored_events(sessions)] == ["m-1"]


def test_malformed_basic_credentials_are_401(live_server: str) -> None:
    answer = httpx.post(f"{live_server}/v1/track", json=track(1), headers={"authorization": "Basic %%%"})

    assert (answer.status_code, answer.json()["message"]) == (401, "writeKey: malformed Basic credentials")


# ----- bad input, message by message -----


def test_a_batch_rejects_each_bad_message_by_index_and_stores_the_rest(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    answer = send(
        track(0),
        {"type": "purchase", "userId": "u-1", "messageId": "m-1"},
        track(2, properties={"memo": "x" * 33_000}),
        track(3, timestamp="어제 오후"),
        {"type": "track", "event": "Viewed Pricing", "messageId": "m-4"},
        {"type": "group", "userId": "u-1", "messageId": "m-5"},
        {"type": "alias", "userId": "u-1", "messageId": "m-6"},
        track(7, properties={"name": "a\x00b"}),
        "not a message",
        track(9),
    )

    assert answer.status_code == 200
    assert answer.json() == {
        "success": False,
        "accepted": 2,
        "duplicates": 0,
        "rejected": [
            {"index": 1, "field": "type", "message": "unknown type 'purchase'; expected one of "
             "identify, track, page, screen, group, alias"},
            {"index": 2, "field": "message", "message": "larger than 32 KB (33,099 bytes)"},
            {"index": 3, "field": "timestamp", "message": "expected an ISO 8601 time such as "
             "'2026-03-01T09:30:00Z', got '어제 오후'"},
            {"index": 4, "field": "userId", "message": "every message needs a userId or an anonymousId"},
            {"index": 5, "field": "groupId", "message": "a group call needs the groupId of the company"},
            {"index": 6, "field": "previousId", "message": "an alias call needs the previousId it joins to the userId"},
            {"index": 7, "field": "message", "message": "contains a NUL character (\\u0000), which cannot be stored"},
            {"index": 8, "field": "message", "message": "expected a JSON object"},
        ],
    }  # fmt: skip
    assert [e.message_id for e in stored_events(sessions)] == ["m-0", "m-9"]


def test_a_single_call_with_a_bad_message_is_400_in_segments_words(
    tracking: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    answer = tracking.post("/v1/track", json={"userId": "u-1", "messageId": "m-1"})

    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request"
    assert (
        answer.json()["message"]
        == "event: a track call needs the event's name, for example 'Order Completed'"
    )
    assert stored_events(sessions) == []


def test_a_single_endpoint_refuses_a_message_of_another_type(tracking: httpx.Client) -> None:
    answer = tracking.post("/v1/page", json={"type": "track", "event": "X", "userId": "u-1"})

    assert (answer.status_code, answer.json()["message"]) == (
        400,
        "type: this endpoint takes page calls, not 'track'",
    )


def test_a_batch_over_500_kb_is_413_and_stores_nothing(send: Send, sessions: sessionmaker[Session]) -> None:
    messages = [track(n, properties={"memo": "x" * 30_000}) for n in range(18)]

    answer = send(*messages)

    assert answer.status_code == 413
    assert (answer.json()["code"], answer.json()["message"]) == (
        "payload_too_large",
        "body: larger than 500 KB",
    )
    assert stored_events(sessions) == []


def test_a_single_call_over_32_kb_is_413(tracking: httpx.Client) -> None:
    answer = tracking.post("/v1/track", json=track(1, properties={"memo": "x" * 33_000}))

    assert (answer.status_code, answer.json()["message"]) == (413, "body: larger than 32 KB")


def test_a_gzip_body_is_inflated(tracking: httpx.Client, sessions: sessionmaker[Session]) -> None:
    body = gzip.compress(json.dumps({"batch": [track(1), track(2)]}).encode())

    answer = tracking.post("/v1/batch", content=body, headers={"content-encoding": "gzip"})

    assert (answer.status_code, answer.json()) == (200, {"success": True})
    assert [e.message_id for e in stored_events(sessions)] == ["m-1", "m-2"]


def test_a_gzip_bomb_is_413_once_it_inflates_past_the_limit(tracking: httpx.Client) -> None:
    bomb = gzip.compress(b'{"batch": ["' + b"x" * 50_000_000 + b'"]}')

    answer = tracking.post("/v1/batch", content=bomb, headers={"content-encoding": "gzip"})

    assert (answer.status_code, answer.json()["message"]) == (413, "body: larger than 500 KB")


BAD_BODIES = [
    (b"not gzip", {"content-encoding": "gzip"}, "body: Content-Encoding says gzip, but it is not"),
    (gzip.compress(b'{"batch": []}')[:-8], {"content-encoding": "gzip"}, "body: Content-Encoding says gzip, but it is not"),
    (b'{"batch": [', {}, "body: malformed JSON: Expecting value: line 1 column 12 (char 11)"),
    (b'{"n": ' + b"9" * 5000 + b"}", {}, "body: malformed JSON: Exceeds the limit (4300 digits) for integer string "
     "conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit"),
    (b"[1, 2]", {}, "body: expected a JSON object"),
    (b'{"batch": {"type": "track"}}', {}, "batch: expected a list of messages under 'batch'"),
    (b'{"batch": [], "sentAt": "noon"}', {}, "sentAt: expected an ISO 8601 time such as '2026-03-01T09:30:00Z', got 'noon'"),
    (b'{"batch": [' * 2000 + b"]}" * 2000, {}, "body: JSON nested too deeply"),
]  # fmt: skip


def test_a_body_that_is_not_a_batch_is_400(tracking: httpx.Client, sessions: sessionmaker[Session]) -> None:
    answers = [
        tracking.post("/v1/batch", content=content, headers=headers) for content, headers, _ in BAD_BODIES
    ]

    assert [(a.status_code, a.json()["code"], a.json()["message"]) for a in answers] == [
        (400, "invalid_request", message) for _, _, message in BAD_BODIES
    ]
    assert stored_events(sessions) == []


def test_a_replayed_message_id_stores_nothing_new(send: Send, sessions: sessionmaker[Session]) -> None:
    assert send(track(1), track(2)).json() == {"success": True}

    again = send(track(2, event="Something Else"), track(3), track(3))

    assert again.json() == {"success": True, "accepted": 1, "duplicates": 2, "rejected": []}
    events = stored_events(sessions)
    assert [(e.message_id, e.name) for e in events] == [
        ("m-1", "Viewed Pricing"),
        ("m-2", "Viewed Pricing"),
        ("m-3", "Viewed Pricing"),
    ]


# ----- time -----


def test_received_at_is_the_servers_clock_and_sent_at_corrects_the_senders_skew(
    send: Send, sessions: sessionmaker[Session], clock: SimulatedClock
) -> None:
    clock.advance(timedelta(hours=3))
    now = clock.now()
    # This device's clock is 10 minutes slow; it recorded the event 2 minutes before sending.
    slow = now - timedelta(minutes=10)

    send(
        track(1, timestamp=(slow - timedelta(minutes=2)).isoformat(), sentAt=slow.isoformat()),
        track(2, timestamp="2026-11-20T09:00:00+09:00"),
        track(3),
    )

    events = stored_events(sessions)
    assert [e.received_at for e in events] == [now, now, now]
    assert [e.occurred_at for e in events] == [
        now - timedelta(minutes=2),
        datetime(2026, 11, 20, 0, 0, tzinfo=UTC),
        now,
    ]


def test_the_batchs_sent_at_corrects_every_message_that_has_none(
    tracking: httpx.Client, sessions: sessionmaker[Session], clock: SimulatedClock
) -> None:
    fast = clock.now() + timedelta(hours=1)
    body = {
        "batch": [track(1, timestamp=(fast - timedelta(seconds=30)).isoformat())],
        "sentAt": fast.isoformat(),
    }

    tracking.post("/v1/batch", json=body)

    [event] = stored_events(sessions)
    assert event.occurred_at == clock.now() - timedelta(seconds=30)


# ----- never a 500 -----

ODD_VALUES: list[Any] = [
    None, True, 0, -1, 2**70, 1.5, 1e308, "", " ", "\t", "가" * 300, "😀", "\ud83d", "\\u0000", "a\x00",
    [], {}, [None], {"": ""}, {"a": {"b": {"c": []}}}, "2026-13-45T99:99:99Z", "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59:59+14:00", "javascript:alert(1)", "https://[::1", "'; DROP TABLE events; --",
]  # fmt: skip
FIELDS = [
    "type", "userId", "anonymousId", "messageId", "timestamp", "sentAt", "originalTimestamp", "event", "name",
    "properties", "traits", "context", "groupId", "previousId", "category",
]  # fmt: skip
NESTED = ["properties", "traits", "context"]
INNER_KEYS = ["email", "phone", "name", "firstName", "title", "website", "employees", "page", "campaign",
              "url", "referrer", "traits", "company", "timezone", "locale", "revenue"]  # fmt: skip


def odd_value(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(ODD_VALUES))


def odd_message(rng: random.Random, number: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": rng.choice(["identify", "track", "page", "screen", "group", "alias"]),
        "userId": f"u-{rng.randint(1, 3)}",
        "anonymousId": f"a-{rng.randint(1, 3)}",
        "messageId": f"odd-{number}",
        "event": "Odd",
        "groupId": "g-1",
        "previousId": f"a-{rng.randint(1, 3)}",
    }
    for _ in range(rng.randint(1, 3)):
        message[rng.choice(FIELDS)] = odd_value(rng)
    for _ in range(rng.randint(0, 4)):
        nested = message.setdefault(rng.choice(NESTED), {})
        if isinstance(nested, dict):
            nested[rng.choice(INNER_KEYS)] = rng.choice([odd_value(rng), {"url": odd_value(rng)}])
    return message


def test_odd_values_anywhere_never_cause_a_server_error(
    tracking: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    rng = random.Random(20261122)
    accepted = 0
    for round_ in range(12):
        batch = [odd_message(rng, round_ * 25 + n) for n in range(25)]
        content = json.dumps({"batch": batch}).encode()

        answer = tracking.post("/v1/batch", content=content)

        assert answer.status_code == 200, answer.text
        result = answer.json()
        counts = (
            result.get("accepted", len(batch)),
            result.get("duplicates", 0),
            len(result.get("rejected", [])),
        )
        assert sum(counts) == len(batch)
        accepted += counts[0]
    assert len(stored_events(sessions)) == accepted


def test_a_batch_of_thousands_of_small_messages_is_stored_whole(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    messages = [
        {"type": "screen", "userId": n % 3000, "anonymousId": f"a{n}", "messageId": n} for n in range(6000)
    ]

    answer = send(*messages)

    assert (answer.status_code, answer.json()) == (200, {"success": True})
    with sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Event).where(Event.contact_id.is_not(None)))
            == 6000
        )
        assert session.scalar(select(func.count()).select_from(Contact)) == 3000
