"""The unmodified official Segment Python SDK, pointed at Funnelwise, tracks a visitor from first page to account."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.models import Company, Contact
from funnelwise.tracking.models import Event, IntakeMessage

LANDING = "https://acme.co.kr/pricing?utm_source=naver&utm_medium=cpc&utm_campaign=winter"
NAVER = "https://search.naver.com/search.naver?query=crm"

Resolve = Callable[[], int]
Errors = list[tuple[Exception, list[dict[str, Any]]]]


@pytest.fixture
def errors() -> Errors:
    return []


@pytest.fixture
def sdk(live_server: str, write_key: str, errors: Errors) -> Iterator[Client]:
    """The SDK as an application configures it: a background thread uploading batches."""
    client = Client(
        write_key,
        host=live_server,
        on_error=lambda error, batch: errors.append((error, batch)),
        max_retries=0,
        upload_interval=0.05,
    )
    yield client
    client.shutdown()


def stored_events(sessions: sessionmaker[Session]) -> list[Event]:
    with sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def test_a_visitor_found_by_naver_becomes_a_known_contact_of_a_company(
    sdk: Client, errors: Errors, sessions: sessionmaker[Session], clock: SimulatedClock, resolve: Resolve
) -> None:
    # The SDK stamps calls with its host's clock; here that clock and the server's agree.
    clock.set(datetime.now(UTC))
    demo_at = clock.now() - timedelta(days=2)

    sdk.page(anonymous_id="anon-1", name="Pricing", properties={"url": LANDING, "referrer": NAVER})
    sdk.alias(previous_id="anon-1", user_id="user-42")
    sdk.identify("user-42", {"email": "Kim.Minsu@acme.co.kr", "name": "김민수", "title": "과장"})
    sdk.track("user-42", "Demo Requested", {"seats": 10}, timestamp=demo_at)
    sdk.screen("user-42", name="Dashboard")
    sdk.group("user-42", "acme-corp", {"name": "Acme Korea", "website": "acme.co.kr", "employees": 250})
    sdk.flush()
    resolve()

    assert errors == []
    events = {e.type: e for e in stored_events(sessions)}
    assert {kind: (e.name, e.anonymous_id) for kind, e in events.items()} == {
        "page": ("Page Viewed", "anon-1"),
        "alias": ("Alias", None),
        "identify": ("Identify", None),
        "track": ("Demo Requested", None),
        "screen": ("Screen Viewed", None),
        "group": ("Group", None),
    }
    assert abs(events["track"].occurred_at - demo_at) < timedelta(seconds=5)
    assert events["track"].properties == {"seats": 10}
    assert events["track"].context["library"]["name"] == "analytics-python"
    with sessions() as session:
        [contact] = session.scalars(select(Contact))
        assert {e.contact_id for e in events.values()} == {contact.id}
        assert (contact.user_id, contact.email, contact.first_name, contact.last_name, contact.job_title) == (
            "user-42",
            "kim.minsu@acme.co.kr",
            "민수",
            "김",
            "과장",
        )
        assert contact.first_touch is not None
        assert {k: contact.first_touch[k] for k in ("utm_source", "utm_medium", "channel", "referrer")} == {
            "utm_source": "naver",
            "utm_medium": "cpc",
            "channel": "paid_search",
            "referrer": NAVER,
        }
        [company] = session.scalars(select(Company))
        assert (company.id, company.external_id, company.name, company.domain, company.size_band) == (
            contact.company_id,
            "acme-corp",
            "Acme Korea",
            "acme.co.kr",
            "201-500",
        )


def test_many_calls_go_up_gzipped_in_batches_and_each_is_stored_once(
    live_server: str, write_key: str, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    errors: Errors = []
    client = Client(
        write_key,
        host=live_server,
        gzip=True,
        on_error=lambda e, b: errors.append((e, b)),
        max_retries=0,
        upload_interval=0.05,
    )

    for number in range(250):
        client.track(f"user-{number % 5}", "Article Read", {"article": number})
    client.shutdown()
    resolve()

    assert errors == []
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 250
        assert session.scalar(select(func.count()).select_from(Contact)) == 5


def test_in_sync_mode_each_call_is_kept_before_it_returns_and_logged_by_the_worker(
    live_server: str, write_key: str, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    client = Client(write_key, host=live_server, sync_mode=True)

    success, message = client.track("user-1", "Signed Up", {"plan": "pro"})

    assert success is True
    with sessions() as session:
        assert session.scalars(select(IntakeMessage.message_id)).all() == [message["messageId"]]
    assert resolve() == 1
    [event] = stored_events(sessions)
    assert (event.message_id, event.name, event.properties) == (
        message["messageId"],
        "Signed Up",
        {"plan": "pro"},
    )


def test_a_wrong_write_key_reaches_the_sdks_on_error_as_segments_401(
    live_server: str, sessions: sessionmaker[Session]
) -> None:
    errors: Errors = []
    client = Client(
        "not-a-key",
        host=live_server,
        on_error=lambda e, b: errors.append((e, b)),
        max_retries=0,
        upload_interval=0.05,
    )

    client.track("user-1", "Signed Up")
    client.shutdown()

    [(error, batch)] = errors
    assert isinstance(error, APIError)
    assert (error.status, error.code, error.message) == (
        401,
        "unauthorized",
        "writeKey: unknown or revoked write key",
    )
    assert [m["event"] for m in batch] == ["Signed Up"]
    assert stored_events(sessions) == []
