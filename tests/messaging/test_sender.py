"""A marketer's messages leave the outbox once each, or stay with the reason they did not."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.messaging.channels.outbox_capture import OutboxCapture
from funnelwise.messaging.channels.smtp import SmtpProvider
from funnelwise.messaging.consent import Channel, ConsentGrant, grant_consent
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.messaging.sender import Sender
from funnelwise.messaging.suppression import suppress
from funnelwise.tracking.models import Event
from tests.factories import make_contact, make_template
from tests.messaging.channels.fake_fcm import FakeFcm
from tests.messaging.channels.fake_solapi import API_KEY, API_SECRET, PF_ID, SENDER, FakeSolapi
from tests.messaging.support import SmtpSink, queue_message

KST = "Asia/Seoul"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def mail_ctx(settings: Settings, clock: SimulatedClock, sink: SmtpSink) -> Context:
    smtp = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": sink.port,
            "smtp_security": "none",
            "mail_from": "Funnelwise Shop <shop@funnelwise.example>",
            "sender_name": "펀널와이즈",
            "sender_contact": "02-123-4567",
            "sms_optout_number": "080-123-4567",
            "consent_result_notices": False,
        }
    )
    return Context(settings=smtp, clock=clock)


def _sender(sessions: sessionmaker[Session], ctx: Context) -> Sender:
    capture = OutboxCapture()
    providers = dict.fromkeys(MessageChannel, capture)
    if ctx.settings.smtp_host:
        providers[MessageChannel.EMAIL] = SmtpProvider(ctx.settings, ctx.clock)
    return Sender(sessions, ctx, providers)


def _row(sessions: sessionmaker[Session], message_id: int) -> OutboxMessage:
    with sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        session.expunge(row)
        return row


def _events(sessions: sessionmaker[Session], contact_id: int) -> list[tuple[str, dict]]:
    with sessions() as session:
        rows = session.execute(
            select(Event.name, Event.properties).where(Event.contact_id == contact_id).order_by(Event.id)
        )
        return [
            (name, properties)
            for name, properties in rows
            if name.split()[0] in {"Email", "SMS", "KakaoTalk"}
        ]


def _welcome(session: Session, ctx: Context, **overrides: object) -> None:
    make_template(
        session,
        ctx,
        **{
            "name": "welcome",
            "channel": "email",
            "purpose": "informational",
            "locales": {
                "ko": {
                    "subject": "{{ contact.first_name | fallback('고객') }}님, 환영합니다",
                    "html": "<html><body><p>안녕하세요 {{ contact.first_name }}님</p>"
                    '<a href="https://shop.example/start">시작하기</a></body></html>',
                }
            },
        }
        | overrides,
    )


def _promo(session: Session, ctx: Context, name: str = "promo", channel: str = "email") -> None:
    content = (
        {"subject": "겨울 세일", "html": "<p>전 품목 {{ 30000 | krw }} 할인</p>"}
        if channel == "email"
        else {"text": "겨울 세일: 전 품목 할인"}
    )
    make_template(
        session,
        ctx,
        name=name,
        channel=channel,
        purpose="advertising",
        topic="promotions",
        locales={"ko": content},
    )


def _consent(
    session: Session, ctx: Context, contact_id: int, channel: Channel, topic: str = "promotions"
) -> None:
    grant_consent(
        session, ctx, contact_id, ConsentGrant(channel, topic, "혜택 알림 수신 동의", "v1", "test", None)
    )


def test_a_welcome_email_arrives_once_personalised_tracked_and_logged(
    sessions: sessionmaker[Session], mail_ctx: Context, sink: SmtpSink
) -> None:
    with sessions() as session:
        ada = make_contact(session, mail_ctx, email="ada@example.com", first_name="에이다").id
        _welcome(session, mail_ctx)
        message_id = queue_message(session, mail_ctx, ada, "welcome")
        session.commit()

    with _sender(sessions, mail_ctx) as sender:
        batch = sender.deliver_all_due()
        again = sender.deliver_all_due()

    assert (batch.sent, again.claimed) == (1, 0)
    (mail,) = sink.wait_for(1)
    assert mail["To"] == "ada@example.com"
    assert mail["Subject"] == "에이다님, 환영합니다"
    html = mail.get_body(("html",)).get_content()
    assert 'href="https://shop.example/start"' not in html
    assert "/c/" in html
    assert "/o/" in html
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    row = _row(sessions, message_id)
    assert (row.status, row.provider, row.recipient, row.attempts) == ("sent", "smtp", "ada@example.com", 1)
    assert row.sent_at == mail_ctx.clock.now()
    assert _events(sessions, ada) == [
        (
            "Email Sent",
            {
                "message_id": message_id,
                "template": "welcome",
                "channel": "email",
                "workflow_id": None,
                "broadcast_id": None,
                "variant": None,
                "to": "ada@example.com",
            },
        )
    ]


def test_with_no_provider_the_outbox_keeps_exactly_what_would_have_been_sent(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com", first_name="Ada").id
        _welcome(session, ctx)
        message_id = queue_message(session, ctx, ada, "welcome")
        session.commit()

    with Sender(sessions, ctx) as sender:
        assert sender.deliver_all_due().sent == 1

    row = _row(sessions, message_id)
    assert (row.status, row.provider) == ("sent", "outbox")
    assert row.rendered is not None
    assert row.rendered["to"] == "ada@example.com"
    assert row.rendered["subject"] == "Ada님, 환영합니다"
    assert "안녕하세요 Ada님" in row.rendered["text"]


@pytest.mark.parametrize(
    ("contact", "reason"),
    [
        ({"phone": "+821012345678", "email": None}, "the contact has no email address"),
        ({"email": "bounced@example.com"}, "bounced@example.com is on the suppression list"),
    ],
)
def test_a_message_nobody_can_receive_is_suppressed_with_its_reason(
    sessions: sessionmaker[Session], ctx: Context, contact: dict[str, str], reason: str
) -> None:
    with sessions() as session:
        suppress(session, ctx, "email", "bounced@example.com", "bounce", "test")
        contact_id = make_contact(session, ctx, **contact).id
        _welcome(session, ctx)
        message_id = queue_message(session, ctx, contact_id, "welcome")
        session.commit()

    with Sender(sessions, ctx) as sender:
        batch = sender.deliver_all_due()

    row = _row(sessions, message_id)
    assert (batch.suppressed, row.status, row.reason) == (1, "suppressed", reason)
    assert _events(sessions, contact_id)[0][0] == "Email Suppressed"


def test_advertising_needs_consent_for_its_topic_and_channel(
    sessions: sessionmaker[Session], mail_ctx: Context, sink: SmtpSink
) -> None:
    with sessions() as session:
        agreed = make_contact(session, mail_ctx, email="agreed@example.com").id
        silent = make_contact(session, mail_ctx, email="silent@example.com").id
        other_topic = make_contact(session, mail_ctx, email="news@example.com").id
        _consent(session, mail_ctx, agreed, Channel.EMAIL)
        _consent(session, mail_ctx, other_topic, Channel.EMAIL, topic="newsletter")
        _promo(session, mail_ctx)
        ids = {c: queue_message(session, mail_ctx, c, "promo") for c in (agreed, silent, other_topic)}
        session.commit()

    with _sender(sessions, mail_ctx) as sender:
        sender.deliver_all_due()

    (mail,) = sink.wait_for(1)
    assert mail["To"] == "agreed@example.com"
    assert mail["Subject"].startswith("(광고)")
    assert "080" not in mail.get_body(("plain",)).get_content()
    assert _row(sessions, ids[silent]).reason == "no email consent for topic 'promotions' (never given)"
    assert _row(sessions, ids[other_topic]).status == "suppressed"


def test_alimtalk_never_carries_advertising(sessions: sessionmaker[Session], ctx: Context) -> None:
    with sessions() as session:
        minsu = make_contact(session, ctx, phone="+821012345678", email=None).id
        _consent(session, ctx, minsu, Channel.KAKAO)
        _promo(session, ctx, name="kakao-promo", channel="kakao_brand")
        # An AlimTalk row pointing at an advertising template, as a hand-made row could.
        message_id = queue_message(session, ctx, minsu, "kakao-promo", channel="kakao", purpose="advertising")
        session.commit()

    with Sender(sessions, ctx) as sender:
        sender.deliver_all_due()

    row = _row(sessions, message_id)
    assert row.status in {"suppressed", "failed"}
    assert "AlimTalk" in (row.reason or "") or "kakao_brand" in (row.error or "")


def test_the_same_template_twice_within_the_dedupe_window_goes_out_once(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com").id
        _welcome(session, ctx)
        first = queue_message(session, ctx, ada, "welcome")
        second = queue_message(session, ctx, ada, "welcome")
        session.commit()
    with Sender(sessions, ctx) as sender:
        sender.deliver_all_due()
        clock.advance(timedelta(hours=25))
        with sessions() as session:
            later = queue_message(session, ctx, ada, "welcome")
            session.commit()
        sender.deliver_all_due()

    assert _row(sessions, first).status == "sent"
    assert _row(sessions, second).reason == "'welcome' was sent to this contact within 24 hours"
    assert _row(sessions, later).status == "sent"


def test_a_daily_cap_on_advertising_counts_every_channel(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    capped = Context(
        settings=ctx.settings.model_copy(update={"cap_advertising_per_day": 1, **_law()}), clock=clock
    )
    with sessions() as session:
        ada = make_contact(session, capped, email="ada@example.com", phone="+821012345678").id
        _consent(session, capped, ada, Channel.EMAIL)
        _consent(session, capped, ada, Channel.SMS)
        _promo(session, capped)
        _promo(session, capped, name="sms-promo", channel="sms")
        email = queue_message(session, capped, ada, "promo")
        sms = queue_message(session, capped, ada, "sms-promo", channel="sms")
        _welcome(session, capped)
        informational = queue_message(session, capped, ada, "welcome")
        session.commit()

    with Sender(sessions, capped) as sender:
        sender.deliver_all_due()

    assert _row(sessions, email).status == "sent"
    assert _row(sessions, sms).reason == "frequency cap: at most 1 advertising message(s) a day"
    assert _row(sessions, informational).status == "sent"


def _law() -> dict[str, object]:
    """What the advertising law needs to know, and no consent result notices to count around."""
    return {
        "sender_name": "펀널와이즈",
        "sender_contact": "02-123-4567",
        "sms_optout_number": "080-123-4567",
        "consent_result_notices": False,
    }


def test_advertising_sms_at_night_waits_until_eight_in_the_morning_then_goes(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    law = Context(settings=ctx.settings.model_copy(update=_law()), clock=clock)
    clock.set(datetime(2026, 11, 22, 13, 30, tzinfo=UTC))  # 22:30 in Seoul
    with sessions() as session:
        minsu = make_contact(session, law, phone="+821012345678", email="minsu@example.com").id
        owl = make_contact(session, law, phone="+821098765432", email=None).id
        for contact_id in (minsu, owl):
            _consent(session, law, contact_id, Channel.SMS)
        _consent(session, law, owl, Channel.SMS, topic="night")
        _consent(session, law, minsu, Channel.EMAIL)
        _promo(session, law, name="sms-promo", channel="sms")
        _promo(session, law)
        held = queue_message(session, law, minsu, "sms-promo", channel="sms")
        night_owl = queue_message(session, law, owl, "sms-promo", channel="sms")
        email = queue_message(session, law, minsu, "promo")
        session.commit()

    with Sender(sessions, law) as sender:
        sender.deliver_all_due()
        row = _row(sessions, held)
        assert (row.status, row.due_at) == ("queued", datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
        assert row.reason == "advertising is held from 21:00 to 08:00 without night-time consent"
        assert _row(sessions, night_owl).status == "sent"
        assert _row(sessions, email).status == "sent"  # email is outside the night-time rule

        clock.set(datetime(2026, 11, 22, 22, 59, tzinfo=UTC))
        assert sender.deliver_all_due().claimed == 0
        clock.set(datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
        sender.deliver_all_due()

    row = _row(sessions, held)
    assert row.status == "sent"
    assert row.rendered is not None
    assert row.rendered["text"].startswith("(광고)")
    assert "무료수신거부 080-123-4567" in row.rendered["text"]


def test_quiet_hours_hold_advertising_in_the_contacts_own_timezone(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    quiet = Context(
        settings=ctx.settings.model_copy(update={"quiet_hours": "09:00-12:00", **_law()}), clock=clock
    )
    with sessions() as session:
        seoul = make_contact(session, quiet, email="seoul@example.com").id  # 10:00 there
        london = make_contact(
            session, quiet, email="london@example.com", timezone="Europe/London"
        ).id  # 01:00
        for contact_id in (seoul, london):
            _consent(session, quiet, contact_id, Channel.EMAIL)
        _promo(session, quiet)
        held = queue_message(session, quiet, seoul, "promo")
        sent = queue_message(session, quiet, london, "promo")
        session.commit()

    with Sender(sessions, quiet) as sender:
        sender.deliver_all_due()

    assert _row(sessions, held).due_at == datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    assert _row(sessions, held).reason == "quiet hours 09:00-12:00 in Asia/Seoul"
    assert _row(sessions, sent).status == "sent"


def test_a_template_that_fails_to_render_fails_that_message_only(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com").id
        bob = make_contact(session, ctx, email="bob@example.com").id
        _welcome(session, ctx)
        _welcome(
            session, ctx, name="receipt", locales={"ko": {"subject": "영수증", "text": "{{ 'x' | krw }}"}}
        )
        broken = queue_message(session, ctx, ada, "receipt")
        fine = queue_message(session, ctx, bob, "welcome")
        gone = queue_message(session, ctx, bob, "deleted-template")
        session.commit()

    with Sender(sessions, ctx) as sender:
        sender.deliver_all_due()

    assert _row(sessions, broken).status == "failed"
    assert _row(sessions, broken).error
    assert _row(sessions, fine).status == "sent"
    assert (_row(sessions, gone).status, _row(sessions, gone).error) == (
        "failed",
        "unknown template 'deleted-template'",
    )


def test_a_refusing_server_is_retried_with_backoff_and_its_reason_kept(
    sessions: sessionmaker[Session], mail_ctx: Context, sink: SmtpSink, clock: SimulatedClock
) -> None:
    sink.refusals = ["451 4.3.0 try again later"] * 2
    with sessions() as session:
        ada = make_contact(session, mail_ctx, email="ada@example.com").id
        _welcome(session, mail_ctx)
        message_id = queue_message(session, mail_ctx, ada, "welcome")
        session.commit()

    with _sender(sessions, mail_ctx) as sender:
        assert sender.deliver_all_due().retried == 1
        row = _row(sessions, message_id)
        assert (row.status, row.attempts, row.due_at) == ("queued", 1, clock.now() + timedelta(seconds=30))
        assert "try again later" in (row.error or "")
        clock.advance(timedelta(seconds=30))
        assert sender.deliver_all_due().retried == 1
        assert _row(sessions, message_id).due_at == clock.now() + timedelta(seconds=60)
        clock.advance(timedelta(seconds=60))
        assert sender.deliver_all_due().sent == 1

    assert len(sink.wait_for(1)) == 1
    assert _row(sessions, message_id).attempts == 3


def test_a_refused_recipient_fails_at_once_with_the_servers_words(
    sessions: sessionmaker[Session], mail_ctx: Context, sink: SmtpSink
) -> None:
    sink.refusals = ["550 5.1.1 no such user"]
    with sessions() as session:
        ada = make_contact(session, mail_ctx, email="ada@example.com").id
        _welcome(session, mail_ctx)
        message_id = queue_message(session, mail_ctx, ada, "welcome")
        session.commit()

    with _sender(sessions, mail_ctx) as sender:
        sender.deliver_all_due()

    row = _row(sessions, message_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "no such user" in (row.error or "")
    assert _events(sessions, ada)[-1][0] == "Email Failed"


def test_a_send_cut_off_by_a_crash_is_reported_unknown_and_never_sent_twice(
    sessions: sessionmaker[Session], mail_ctx: Context, sink: SmtpSink, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, mail_ctx, email="ada@example.com", phone="+821012345678").id
        _welcome(session, mail_ctx)
        emailed = queue_message(session, mail_ctx, ada, "welcome")
        _welcome(session, mail_ctx, name="sms-welcome", channel="sms", locales={"ko": {"text": "환영합니다"}})
        captured = queue_message(session, mail_ctx, ada, "sms-welcome", channel="sms")
        # A worker claimed both and died before it recorded anything.
        session.execute(update(OutboxMessage).values(status=OutboxStatus.SENDING, updated_at=clock.now()))
        session.commit()

    with _sender(sessions, mail_ctx) as sender:
        assert sender.deliver_all_due().recovered == 0  # still within the lease: maybe still sending
        clock.advance(timedelta(seconds=mail_ctx.settings.send_lease_seconds + 1))
        assert sender.deliver_all_due().recovered == 2

    assert _row(sessions, emailed).status == "unknown"  # SMTP takes no idempotency key
    assert _row(sessions, captured).status == "sent"  # the outbox capture may safely run again
    assert sink.messages == []


def test_a_test_send_goes_to_the_address_given_whatever_the_rules(
    sessions: sessionmaker[Session], mail_ctx: Context, sink: SmtpSink
) -> None:
    with sessions() as session:
        ada = make_contact(session, mail_ctx, email="ada@example.com", first_name="Ada").id
        _promo(session, mail_ctx)
        queue_message(
            session, mail_ctx, ada, "promo", source="test", variables={"to": "marketer@shop.example"}
        )
        session.commit()

    with _sender(sessions, mail_ctx) as sender:
        sender.deliver_all_due()

    (mail,) = sink.wait_for(1)
    assert mail["To"] == "marketer@shop.example"
    assert mail["Subject"].startswith("(광고)")
    assert mail["List-Unsubscribe"] is None


def test_an_alimtalk_kakao_refuses_goes_out_as_an_sms_with_the_same_text(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with FakeSolapi() as solapi:
        kakao = Context(
            settings=ctx.settings.model_copy(
                update={
                    "solapi_api_key": API_KEY,
                    "solapi_api_secret": API_SECRET,
                    "solapi_base_url": solapi.url,
                    "sms_from": SENDER,
                    "solapi_kakao_pf_id": PF_ID,
                }
            ),
            clock=ctx.clock,
        )
        with sessions() as session:
            minsu = make_contact(session, kakao, phone="+821012345678", first_name="민수").id
            make_template(
                session,
                kakao,
                name="shipped",
                channel="kakao",
                # A template Kakao has not approved: Solapi refuses it.
                locales={
                    "ko": {
                        "template_code": "NOT-APPROVED",
                        "text": "{{ contact.first_name }}님, 주문이 출발했습니다",
                    }
                },
            )
            alimtalk = queue_message(session, kakao, minsu, "shipped", channel="kakao")
            session.commit()

        with Sender(sessions, kakao) as sender:
            first = sender.deliver_due()
            second = sender.deliver_due()

        assert (first.failed, second.sent) == (1, 1)
        assert _row(sessions, alimtalk).status == "failed"
        (sms,) = solapi.accepted
        assert (sms["to"], sms["from"], sms["text"]) == ("01012345678", SENDER, "민수님, 주문이 출발했습니다")
        with sessions() as session:
            twin = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).one()
            assert (twin.status, twin.template, twin.provider) == ("sent", "fallback:shipped", "solapi")
            assert twin.reason is not None and twin.reason.startswith("AlimTalk failed")
        assert [name for name, _ in _events(sessions, minsu)] == ["KakaoTalk Failed", "SMS Sent"]


def test_a_push_to_an_uninstalled_app_drops_its_token_so_the_next_is_not_sent(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with FakeFcm() as fcm:
        fcm.registered_tokens.add("token-of-the-new-phone")
        push = Context(
            settings=ctx.settings.model_copy(
                update={"fcm_service_account_json": fcm.service_account_json(), "fcm_base_url": fcm.url}
            ),
            clock=ctx.clock,
        )
        with sessions() as session:
            minsu = make_contact(session, push, first_name="민수").id
            jiwoo = make_contact(session, push, first_name="지우").id
            for contact_id, token in (
                (minsu, "token-of-the-uninstalled-app"),
                (jiwoo, "token-of-the-new-phone"),
            ):
                session.execute(
                    update(Contact).where(Contact.id == contact_id).values(properties={"push_token": token})
                )
            make_template(session, push, name="restock", channel="push")
            first = [queue_message(session, push, c, "restock", channel="push") for c in (minsu, jiwoo)]
            session.commit()

        with Sender(sessions, push) as sender:
            sent = sender.deliver_all_due()
            with sessions() as session:
                again = queue_message(session, push, minsu, "restock", channel="push")
                session.commit()
            later = sender.deliver_all_due()

        gone, kept = (_row(sessions, message_id) for message_id in first)
        assert (sent.sent, sent.failed, gone.status, kept.status) == (1, 1, "failed", "sent")
        assert gone.error is not None and "UNREGISTERED" in gone.error and "dropped" in gone.error
        with sessions() as session:
            tokens = [session.get(Contact, c).properties.get("push_token") for c in (minsu, jiwoo)]
        assert tokens == [None, "token-of-the-new-phone"]
        assert (later.suppressed, _row(sessions, again).reason) == (
            1,
            "the contact has no push token (property 'push_token')",
        )
        assert [m["token"] for m in fcm.sent] == ["token-of-the-new-phone"]


def test_a_send_at_the_best_hour_waits_for_the_hour_the_contact_opens_mail(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx, email="ada@example.com").id
        # Ada opens mail at 20:00 in Seoul (11:00 UTC).
        for day in range(1, 5):
            session.add(
                Event(
                    message_id=f"open-{day}",
                    contact_id=ada,
                    type="track",
                    name="Email Opened",
                    properties={},
                    context={},
                    occurred_at=datetime(2026, 11, 10 + day, 11, 5, tzinfo=UTC),
                    received_at=datetime(2026, 11, 10 + day, 11, 5, tzinfo=UTC),
                )
            )
        _welcome(session, ctx)
        message_id = queue_message(session, ctx, ada, "welcome", variables={"send_time": "best"})
        session.commit()

    with Sender(sessions, ctx) as sender:
        sender.deliver_all_due()
        row = _row(sessions, message_id)
        assert (row.status, row.due_at) == ("queued", datetime(2026, 11, 22, 11, 0, tzinfo=UTC))
        clock.set(datetime(2026, 11, 22, 11, 0, tzinfo=UTC))
        sender.deliver_all_due()

    assert _row(sessions, message_id).status == "sent"


def test_opting_in_to_advertising_mails_the_person_the_result_as_the_law_asks(
    sessions: sessionmaker[Session], mail_ctx: Context, sink: SmtpSink
) -> None:
    notices = Context(
        settings=mail_ctx.settings.model_copy(update={"consent_result_notices": True}), clock=mail_ctx.clock
    )
    with sessions() as session:
        ada = make_contact(session, notices, email="ada@example.com").id
        _consent(session, notices, ada, Channel.EMAIL)
        session.commit()

    with _sender(sessions, notices) as sender:
        assert sender.deliver_all_due().sent == 1

    (mail,) = sink.wait_for(1)
    assert mail["Subject"] == "[펀널와이즈] 광고성 정보 수신동의 처리 결과 안내"
    assert "2026" in mail.get_body(("plain",)).get_content()
    assert "/u/" in mail.get_body(("plain",)).get_content()  # how to opt out again
    assert [name for name, _ in _events(sessions, ada)] == ["Email Sent"]


def test_a_batch_of_many_is_recorded_in_one_go_on_either_database(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        _welcome(session, ctx)
        ids = [queue_message(session, ctx, make_contact(session, ctx).id, "welcome") for _ in range(60)]
        no_address = make_contact(session, ctx, email=None, phone="+821012345678").id
        ids.append(queue_message(session, ctx, no_address, "welcome"))
        session.commit()

    with Sender(sessions, ctx) as sender:
        batch = sender.deliver_due()

    assert (batch.claimed, batch.sent, batch.suppressed) == (61, 60, 1)
    with sessions() as session:
        rows = session.execute(
            select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.rendered).where(
                OutboxMessage.id.in_(ids)
            )
        ).all()
    assert sorted(status for status, _, _ in rows) == ["sent"] * 60 + ["suppressed"]
    assert all(rendered["subject"].endswith("환영합니다") for status, _, rendered in rows if status == "sent")
