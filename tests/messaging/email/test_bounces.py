"""Bounces, complaints and deliveries: from Amazon SES, the generic webhook, DSN mail and the CLI."""

import asyncio
import json
import mailbox
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.api.app import create_app
from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.messaging.channels.smtp import SmtpProvider
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.messaging.suppression import is_suppressed, list_suppressions
from tests.cli.support import Funnelwise
from tests.conftest import TEST_SECRET
from tests.factories import make_contact
from tests.messaging.email.dsn_mail import abuse_report, dsn, headers_of
from tests.messaging.email.outbox_rows import events_named, sent_email
from tests.messaging.email.smtp_support import PickySink, email, smtp_settings
from tests.messaging.support import free_port, serving

TOKEN = "hook-token-for-tests"


@pytest.fixture
def hooks(
    engine: Engine, database_url: str, clock: SimulatedClock, sessions: sessionmaker[Session]
) -> Iterator[str]:
    """The app with the email webhook token set, on its own port."""
    settings = Settings(
        database_url=database_url, secret_key=TEST_SECRET, email_webhook_token=TOKEN, _env_file=None
    )
    with serving(create_app(settings, engine=engine, clock=clock), free_port()) as base:
        yield base


def _ses(notification: dict[str, object]) -> str:
    """An SNS envelope around an SES notification, as SNS posts it (JSON sent as text/plain)."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:ap-northeast-2:123456789012:ses-bounces",
            "Message": json.dumps(notification),
            "Timestamp": "2026-11-22T01:05:00.000Z",
        }
    )


def _mail(our_message_id: str, to: str) -> dict[str, object]:
    return {
        "timestamp": "2026-11-22T01:00:00.000Z",
        "messageId": "0100018c-ses-id",
        "source": "hello@funnelwise.example",
        "destination": [to],
        "commonHeaders": {"messageId": our_message_id, "subject": "November news"},
    }


def _post_ses(base: str, notification: dict[str, object], token: str = TOKEN) -> httpx.Response:
    return httpx.post(
        f"{base}/hooks/email/ses",
        params={"token": token},
        content=_ses(notification),
        headers={"Content-Type": "text/plain; charset=UTF-8"},
    )


def _message(session: Session, message_id: int) -> OutboxMessage:
    stored = session.get(OutboxMessage, message_id)
    assert stored is not None
    return stored


def test_an_ses_hard_bounce_suppresses_the_address_and_logs_it_on_the_message(
    hooks: str, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, email="gone@example.co.kr")
        message = sent_email(session, ctx, contact.id, provider_message_id="<fw.1.ab12@funnelwise.example>")
    ours = f"<fw.{message.id}.ab12@funnelwise.example>"
    with sessions.begin() as session:
        _message(session, message.id).provider_message_id = ours
    bounce = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "Gone@Example.co.kr",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2026-11-22T01:05:00.000Z",
            "feedbackId": "0100018c-feedback",
        },
        "mail": _mail(ours, "gone@example.co.kr"),
    }

    response = _post_ses(hooks, bounce)

    assert response.status_code == 200
    assert response.json() == {"recorded": 1, "suppressed": 1, "unmatched": 0}
    with sessions() as session:
        (suppression,) = list_suppressions(session).results
        assert (suppression.address, suppression.reason, suppression.source, suppression.detail) == (
            "gone@example.co.kr",
            "hard_bounce",
            "webhook:ses",
            "smtp; 550 5.1.1 user unknown",
        )
        (bounced,) = events_named(session, "Email Bounced")
        assert bounced == (
            contact.id,
            {
                "message_id": message.id,
                "template": "november-news",
                "channel": "email",
                "workflow_id": None,
                "broadcast_id": 7,
                "variant": "a",
                "email": "Gone@Example.co.kr",
                "reason": "smtp; 550 5.1.1 user unknown",
                "permanent": True,
            },
        )
        assert _message(session, message.id).bounced_at == ctx.clock.now()


def test_an_ses_soft_bounce_is_logged_but_suppresses_nothing(
    hooks: str, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx)
        message = sent_email(session, ctx, contact.id)
    bounce = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Transient",
            "bounceSubType": "MailboxFull",
            "bouncedRecipients": [{"emailAddress": contact.email, "status": "4.2.2"}],
        },
        "mail": _mail(f"<fw.{message.id}.00ff@funnelwise.example>", contact.email or ""),
    }

    assert _post_ses(hooks, bounce).json() == {"recorded": 1, "suppressed": 0, "unmatched": 0}
    with sessions() as session:
        ((_, properties),) = events_named(session, "Email Bounced")
        assert (properties["permanent"], properties["reason"]) == (False, "4.2.2")
        assert list_suppressions(session).results == []


def test_an_ses_complaint_and_delivery(hooks: str, sessions: sessionmaker[Session], ctx: Context) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, email="angry@example.org")
        message = sent_email(session, ctx, contact.id)
    mail = _mail(f"<fw.{message.id}.0a0b@funnelwise.example>", "angry@example.org")
    delivery = {
        "notificationType": "Delivery",
        "mail": mail,
        "delivery": {"recipients": ["angry@example.org"], "smtpResponse": "250 2.0.0 OK"},
    }
    complaint = {
        "notificationType": "Complaint",
        "mail": mail,
        "complaint": {
            "complainedRecipients": [{"emailAddress": "angry@example.org"}],
            "complaintFeedbackType": "abuse",
        },
    }

    assert _post_ses(hooks, delivery).json() == {"recorded": 1, "suppressed": 0, "unmatched": 0}
    assert _post_ses(hooks, complaint).json() == {"recorded": 1, "suppressed": 1, "unmatched": 0}
    with sessions() as session:
        assert [p["reason"] for _, p in events_named(session, "Email Delivered")] == ["250 2.0.0 OK"]
        assert [p["reason"] for _, p in events_named(session, "Email Complained")] == ["abuse"]
        (suppression,) = list_suppressions(session).results
        assert (suppression.address, suppression.reason) == ("angry@example.org", "complaint")
        stored = _message(session, message.id)
        assert (stored.delivered_at, stored.complained_at) == (ctx.clock.now(), ctx.clock.now())


def test_an_sns_subscription_is_confirmed_by_a_person_not_fetched(hooks: str) -> None:
    url = "https://sns.ap-northeast-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn&Token=2336"
    body = {
        "Type": "SubscriptionConfirmation",
        "TopicArn": "arn:aws:sns:ap-northeast-2:1:ses",
        "SubscribeURL": url,
    }

    response = httpx.post(f"{hooks}/hooks/email/ses", params={"token": TOKEN}, content=json.dumps(body))

    assert response.status_code == 200
    assert response.json()["subscribe_url"] == url


def test_the_generic_format_and_its_bad_input(
    hooks: str, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx)
        message = sent_email(session, ctx, contact.id)
    reports = [
        {
            "type": "bounce",
            "email": contact.email,
            "message_id": message.id,
            "reason": "mailbox does not exist",
        },
        {"type": "complaint", "email": "stranger@example.org", "reason": "spam button"},
    ]

    response = httpx.post(f"{hooks}/hooks/email/generic", params={"token": TOKEN}, json=reports)
    bad = httpx.post(
        f"{hooks}/hooks/email/generic", params={"token": TOKEN}, json=[{"type": "opened", "email": "x"}]
    )

    assert response.json() == {"recorded": 1, "suppressed": 2, "unmatched": 1}
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["0.type", "0.email"]
    with sessions() as session:
        assert is_suppressed(session, "email", contact.email or "") is True
        assert is_suppressed(session, "email", "stranger@example.org") is True


def test_a_webhook_without_the_right_token_is_refused(
    hooks: str, live_server: str, sessions: sessionmaker[Session]
) -> None:
    report = {"type": "complaint", "email": "someone@example.org"}

    wrong = httpx.post(f"{hooks}/hooks/email/generic", params={"token": "guess"}, json=report)
    missing = httpx.post(f"{hooks}/hooks/email/generic", json=report)
    unset = httpx.post(f"{live_server}/hooks/email/generic", params={"token": "anything"}, json=report)

    assert (wrong.status_code, missing.status_code, unset.status_code) == (403, 401, 403)
    assert unset.json()["detail"].startswith("email webhooks are off")
    with sessions() as session:
        assert list_suppressions(session).results == []


def test_a_real_bounce_of_a_sent_email_finds_its_message_through_the_message_id(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with PickySink() as sink:
        provider = SmtpProvider(smtp_settings(sink), ctx.clock)
        with sessions() as session:
            contact = make_contact(session, ctx, email="gone@example.co.kr")
            message = sent_email(session, ctx, contact.id)

        async def send() -> str | None:
            accepted = await provider.send(email(message.id, "gone@example.co.kr"))
            await provider.aclose()
            return accepted.provider_message_id

        message_id_header = asyncio.run(send())
        (delivered,) = sink.wait_for(1)
    with sessions.begin() as session:
        _message(session, message.id).provider_message_id = message_id_header
    assert delivered["Message-ID"] == message_id_header
    bounce = dsn(
        "gone@example.co.kr",
        "5.1.1",
        "failed",
        "550 5.1.1 <gone@example.co.kr>: Recipient address rejected: User unknown",
        headers_of(delivered["Message-ID"], "gone@example.co.kr"),
    )

    response = api.post("/api/v1/email/dsn", content=bounce, headers={"Content-Type": "message/rfc822"})

    assert response.json() == {"recorded": 1, "suppressed": 1, "unmatched": 0}
    with sessions() as session:
        ((_, properties),) = events_named(session, "Email Bounced")
        assert properties["permanent"] is True
        assert (
            properties["reason"]
            == "smtp; 550 5.1.1 <gone@example.co.kr>: Recipient address rejected: User unknown"
        )
        assert properties["message_id"] == message.id
        assert is_suppressed(session, "email", "gone@example.co.kr") is True


def test_a_dsn_quoting_a_message_id_of_ours_that_another_message_went_under_is_not_matched(
    api: httpx.Client, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx)
        message = sent_email(session, ctx, contact.id, provider_message_id="<fw.1.aaaa@funnelwise.example>")
    other_install = f"<fw.{message.id}.bbbb@funnelwise.example>"
    bounce = dsn(
        contact.email or "", "5.1.1", "failed", "550 no such user", headers_of(other_install, "x@y.z")
    )

    response = api.post("/api/v1/email/dsn", content=bounce)

    assert response.json() == {"recorded": 0, "suppressed": 1, "unmatched": 1}


def test_the_dsn_endpoint_needs_a_key_that_may_write(
    client_with: Callable[..., httpx.Client], live_server: str
) -> None:
    anonymous = httpx.post(f"{live_server}/api/v1/email/dsn", content=b"x")
    reader = client_with("messaging:read")

    assert anonymous.status_code == 401
    assert reader.post("/api/v1/email/dsn", content=b"x").status_code == 403


def test_the_cli_reads_an_mbox_of_bounces_and_complaints(
    database_url: str, sessions: sessionmaker[Session], ctx: Context, tmp_path: Path
) -> None:
    with sessions() as session:
        hard = sent_email(
            session, ctx, make_contact(session, ctx, email="gone@example.co.kr").id, idempotency_key="a"
        )
        soft = sent_email(
            session, ctx, make_contact(session, ctx, email="full@example.co.kr").id, idempotency_key="b"
        )
        angry = sent_email(
            session, ctx, make_contact(session, ctx, email="angry@example.org").id, idempotency_key="c"
        )
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(
        dsn(
            "gone@example.co.kr",
            "5.1.1",
            "failed",
            "550 user unknown",
            headers_of(f"<fw.{hard.id}.01@funnelwise.example>", "gone@example.co.kr"),
        )
    )
    box.add(
        dsn(
            "full@example.co.kr",
            "4.2.2",
            "delayed",
            "452 mailbox full",
            headers_of(f"<fw.{soft.id}.02@funnelwise.example>", "full@example.co.kr"),
        )
    )
    box.close()
    (tmp_path / "complaint.eml").write_bytes(
        abuse_report(
            "angry@example.org", headers_of(f"<fw.{angry.id}.03@funnelwise.example>", "angry@example.org")
        )
    )
    funnelwise = Funnelwise(database_url)

    result = funnelwise("email", "dsn", tmp_path / "bounces.mbox", tmp_path / "complaint.eml")

    assert result.exit_code == 0, result.output
    assert (
        "3 reports: 3 recorded on their messages, 2 addresses newly suppressed, 0 naming no message of ours"
        in result.output
    )
    with sessions() as session:
        assert [(p["email"], p["permanent"]) for _, p in events_named(session, "Email Bounced")] == [
            ("gone@example.co.kr", True),
            ("full@example.co.kr", False),
        ]
        assert [p["message_id"] for _, p in events_named(session, "Email Complained")] == [angry.id]
        assert sorted((s.address, s.reason) for s in list_suppressions(session).results) == [
            ("angry@example.org", "complaint"),
            ("gone@example.co.kr", "hard_bounce"),
        ]


def test_the_cli_says_when_the_files_hold_no_report(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    letter = tmp_path / "letter.eml"
    letter.write_bytes(b"From: a@example.org\r\nSubject: hello\r\n\r\nJust a letter.\r\n")

    result = Funnelwise(database_url)("email", "dsn", letter)

    assert result.exit_code == 1
    assert "no delivery status notification or feedback report found" in result.output
