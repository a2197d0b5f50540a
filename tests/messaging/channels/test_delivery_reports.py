"""Providers report deliveries over HTTP; the outcomes land in the log and on the message, once."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.api.app import create_app
from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.messaging.channels.solapi import KEY_FIELD
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.tracking.models import Event
from tests.conftest import START, TEST_SECRET
from tests.factories import make_contact
from tests.messaging.support import free_port, serving

TOKEN = "report-token-7f3a"


@pytest.fixture(scope="module")
def report_server(engine: Engine, database_url: str, _shared_clock: SimulatedClock) -> Iterator[str]:
    """The real app with a delivery report token, on its own port."""
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET,
        provider_webhook_token=TOKEN,
        run_worker=False,
        _env_file=None,
    )
    with serving(create_app(settings, engine=engine, clock=_shared_clock), free_port()) as url:
        yield url


@pytest.fixture
def hooks(report_server: str, sessions: sessionmaker[Session]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=report_server, params={"token": TOKEN}, timeout=30) as client:
        yield client


def sent_message(session: Session, ctx: Context, channel: str, provider: str, **fields: Any) -> OutboxMessage:
    """A message the sender handed to a provider an hour ago."""
    contact = make_contact(session, ctx)
    at = ctx.clock.now() - timedelta(hours=1)
    number = session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0
    message = OutboxMessage(
        idempotency_key=f"wf-{number + 1}-1",
        contact_id=contact.id,
        channel=channel,
        template="order_shipped",
        status=OutboxStatus.SENT.value,
        source="workflow",
        workflow_id=3,
        variables={},
        purpose="informational",
        due_at=at,
        attempts=1,
        recipient="+821012345678",
        provider=provider,
        sent_at=at,
        created_at=at,
        updated_at=at,
    )
    for name, value in fields.items():
        setattr(message, name, value)
    session.add(message)
    session.commit()
    return message


def solapi_report(message_id: str | None, status: str, text: str, key: str | None = None) -> dict[str, Any]:
    """One item of Solapi's message report webhook."""
    return {
        "eventDataId": f"E{status}{message_id}",
        "data": {
            "messageId": message_id,
            "groupId": "G4V20261122100000ABCDEFGHIJKLMN",
            "type": "ATA",
            "to": "01012345678",
            "from": "0212345678",
            "statusCode": status,
            "statusMessage": text,
            "dateProcessed": "2026-11-22 10:00:01",
            "dateReported": "2026-11-22 10:00:03",
            "networkCode": "SKT",
            "customFields": {KEY_FIELD: key} if key else {},
        },
        "retryCount": 0,
    }


def events(session: Session, contact_id: int) -> list[tuple[str, dict[str, Any]]]:
    found = session.execute(
        select(Event.name, Event.properties).where(Event.contact_id == contact_id).order_by(Event.id)
    )
    return [(name, props) for name, props in found if name != "Contact Created"]


def test_a_delivered_sms_is_logged_once_however_often_solapi_reports_it(
    sessions: sessionmaker[Session], ctx: Context, hooks: httpx.Client
) -> None:
    with sessions() as session:
        message = sent_message(session, ctx, "sms", "solapi", provider_message_id="M4V-1")
        message_id, contact_id = message.id, message.contact_id

    report = [solapi_report("M4V-1", "4000", "수신 완료")]
    first = hooks.post("/hooks/solapi", json=report)
    again = hooks.post("/hooks/solapi", json=report)

    assert (first.status_code, first.json()) == (200, {"recorded": 1, "repeated": 0, "unknown": 0})
    assert again.json() == {"recorded": 0, "repeated": 1, "unknown": 0}
    with sessions() as session:
        stored = session.get_one(OutboxMessage, message_id)
        assert (stored.status, stored.delivered_at) == ("sent", START)
        assert events(session, contact_id) == [
            (
                "SMS Delivered",
                {
                    "message_id": message_id,
                    "template": "order_shipped",
                    "channel": "sms",
                    "workflow_id": 3,
                    "broadcast_id": None,
                    "variant": None,
                    "provider": "solapi",
                },
            )
        ]


def test_a_failed_alimtalk_is_logged_with_kakaos_reason_and_falls_back_to_sms(
    sessions: sessionmaker[Session], ctx: Context, hooks: httpx.Client
) -> None:
    with sessions() as session:
        message = sent_message(session, ctx, "kakao", "solapi", provider_message_id="M4V-2")
        message_id, contact_id, key = message.id, message.contact_id, message.idempotency_key

    answer = hooks.post("/hooks/solapi", json=[solapi_report("M4V-2", "3104", "카카오톡 미사용자 ")])
    hooks.post("/hooks/solapi", json=[solapi_report("M4V-2", "3104", "카카오톡 미사용자 ")])

    assert answer.json() == {"recorded": 1, "repeated": 0, "unknown": 0}
    with sessions() as session:
        stored = session.get_one(OutboxMessage, message_id)
        assert (stored.status, stored.error, stored.delivered_at) == (
            "failed",
            "카카오톡 미사용자 (status 3104)",
            None,
        )
        ((name, properties),) = events(session, contact_id)
        assert (name, properties["reason"], properties["channel"]) == (
            "KakaoTalk Failed",
            "카카오톡 미사용자 (status 3104)",
            "kakao",
        )
        twins = session.scalars(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == f"{key}-sms")
        ).all()
        assert [(t.channel, t.status, t.contact_id) for t in twins] == [("sms", "queued", contact_id)]


def test_solapi_reports_of_messages_on_their_way_or_not_ours_change_nothing(
    sessions: sessionmaker[Session], ctx: Context, hooks: httpx.Client
) -> None:
    with sessions() as session:
        message = sent_message(session, ctx, "sms", "solapi", provider_message_id="M4V-3")
        contact_id = message.contact_id

    answer = hooks.post(
        "/hooks/solapi",
        json=[
            solapi_report("M4V-3", "3000", "이통사로 접수"),
            solapi_report("M4V-NOT-OURS", "4000", "수신 완료"),
        ],
    )

    assert answer.json() == {"recorded": 0, "repeated": 0, "unknown": 1}
    with sessions() as session:
        assert events(session, contact_id) == []


def test_a_message_a_crash_left_unknown_is_found_by_our_key_and_known_delivered(
    sessions: sessionmaker[Session], ctx: Context, hooks: httpx.Client
) -> None:
    with sessions() as session:
        message = sent_message(session, ctx, "sms", "solapi", status=OutboxStatus.UNKNOWN.value)
        message_id, key = message.id, message.idempotency_key

    answer = hooks.post(
        "/hooks/solapi", json=[solapi_report("M4V-NEVER-RECORDED", "4000", "수신 완료", key=key)]
    )

    assert answer.json() == {"recorded": 1, "repeated": 0, "unknown": 0}
    with sessions() as session:
        stored = session.get_one(OutboxMessage, message_id)
        assert (stored.status, stored.delivered_at) == ("sent", START)


def test_the_generic_gateway_reports_by_its_id_or_ours(
    sessions: sessionmaker[Session], ctx: Context, hooks: httpx.Client
) -> None:
    with sessions() as session:
        push = sent_message(session, ctx, "push", "generic_http", provider_message_id="gw-9")
        sms = sent_message(session, ctx, "sms", "generic_http")
        push_id, push_contact, sms_key, sms_contact = (
            push.id,
            push.contact_id,
            sms.idempotency_key,
            sms.contact_id,
        )

    failed = hooks.post(
        "/hooks/generic", json={"provider_message_id": "gw-9", "status": "failed", "reason": "device offline"}
    )
    delivered = hooks.post("/hooks/generic", json=[{"id": sms_key, "status": "delivered"}])

    assert failed.json() == delivered.json() == {"recorded": 1, "repeated": 0, "unknown": 0}
    with sessions() as session:
        assert [(n, p["reason"]) for n, p in events(session, push_contact)] == [
            ("Push Failed", "device offline")
        ]
        assert session.get_one(OutboxMessage, push_id).error == "device offline"
        assert [n for n, _ in events(session, sms_contact)] == ["SMS Delivered"]


def test_a_report_that_names_nothing_or_no_outcome_is_refused_by_field(hooks: httpx.Client) -> None:
    answer = hooks.post("/hooks/generic", json=[{"status": "sent"}])

    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "0.id", "message": "name the message by 'id' or 'provider_message_id'"},
        {"field": "0.status", "message": "must be 'delivered' or 'failed'"},
    ]
    assert hooks.post("/hooks/solapi", json={"not": "a list"}).status_code == 422


def test_reports_need_the_token_and_are_off_without_one(hooks: httpx.Client, live_server: str) -> None:
    wrong = hooks.post("/hooks/generic", params={"token": "guess"}, json={"id": "x", "status": "delivered"})
    off = httpx.post(f"{live_server}/hooks/solapi", params={"token": ""}, json=[])

    assert (wrong.status_code, wrong.json()["detail"]) == (
        403,
        "wrong or missing ?token= for delivery reports",
    )
    assert off.status_code == 403
    assert off.json()["detail"].startswith("delivery reports are off: set FUNNELWISE_PROVIDER_WEBHOOK_TOKEN")
