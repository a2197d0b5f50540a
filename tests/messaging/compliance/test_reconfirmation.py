"""Every two years each consent to advertising is reconfirmed by a notice the periodic job queues."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.messaging.compliance import render_system_notice
from funnelwise.messaging.consent import Channel, ConsentGrant, confirm_consent, grant_consent
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.reconfirmation import reconfirmation_cutoff, send_reconfirmations
from funnelwise.reactions.periodic import run_periodic
from tests.conftest import START
from tests.factories import make_contact
from tests.messaging.compliance.builders import events, lawful, outbox

RECONFIRMATION = "system:consent-reconfirmation"
TWO_YEARS_LATER = datetime(2028, 11, 22, 1, 0, tzinfo=UTC)


def _quiet(ctx: Context) -> Context:
    """No opt-in result notices, so the outbox holds only what the reconfirmation job wrote."""
    return Context(ctx.settings.model_copy(update={"consent_result_notices": False}), ctx.clock)


def _grant(
    session: Session, ctx: Context, contact_id: int, channel: Channel, topic: str = "promotions"
) -> int:
    grant = ConsentGrant(channel, topic, "혜택 알림 수신 동의", "2026-11", "form:spring", "203.0.113.7")
    consent = grant_consent(session, _quiet(ctx), contact_id, grant)
    session.commit()
    return consent.id


def test_a_consent_two_years_old_gets_one_notice_and_another_two_years_on(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx, email="jiwoo@example.kr")
    consent_id = _grant(session, ctx, contact.id, Channel.EMAIL)

    clock.set(TWO_YEARS_LATER - timedelta(seconds=1))
    assert send_reconfirmations(session, ctx) == 0
    clock.set(TWO_YEARS_LATER)
    assert send_reconfirmations(session, ctx) == 1
    assert send_reconfirmations(session, ctx) == 0
    session.commit()

    [notice] = outbox(session, contact.id)
    assert (notice.template, notice.channel, notice.purpose, notice.status, notice.source) == (
        RECONFIRMATION,
        "email",
        "informational",
        "queued",
        "compliance",
    )
    assert (notice.idempotency_key, notice.due_at, notice.topic) == (
        f"reconfirm-{consent_id}-2026-11-22",
        TWO_YEARS_LATER,
        "promotions",
    )
    assert notice.variables == {
        "consent_id": consent_id,
        "consent_channel": "email",
        "topic": "promotions",
        "consented_at": START.isoformat(),
        "version": "2026-11",
    }
    assert events(session, contact.id, "Consent Reconfirmation Sent") == [
        (
            "Consent Reconfirmation Sent",
            {
                **notice.variables,
                "channel": "email",
                "notice_channel": "email",
                "result": "queued",
                "idempotency_key": f"reconfirm-{consent_id}-2026-11-22",
            },
        )
    ]

    clock.set(datetime(2030, 11, 22, 1, 0, tzinfo=UTC))
    assert send_reconfirmations(session, ctx) == 1
    session.commit()
    assert [m.idempotency_key for m in outbox(session, contact.id)] == [
        f"reconfirm-{consent_id}-2026-11-22",
        f"reconfirm-{consent_id}-2028-11-22",
    ]
    # The notice still says when consent was first given.
    assert outbox(session, contact.id)[1].variables["consented_at"] == START.isoformat()


def test_a_double_opt_in_counts_from_its_confirmation(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx)
    grant = ConsentGrant(
        Channel.EMAIL, "newsletter", "뉴스레터 동의", "v1", "form:spring", None, double_opt_in=True
    )
    pending = grant_consent(session, _quiet(ctx), contact.id, grant)
    clock.advance(timedelta(days=10))
    confirm_consent(session, _quiet(ctx), pending.id, None)
    session.commit()

    clock.set(TWO_YEARS_LATER)
    assert send_reconfirmations(session, ctx) == 0
    clock.advance(timedelta(days=10))
    assert send_reconfirmations(session, ctx) == 1


def test_a_contact_without_an_address_on_the_channel_is_noted_not_sent_to(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx, email="nophone@example.kr")
    consent_id = _grant(session, ctx, contact.id, Channel.SMS)

    clock.set(TWO_YEARS_LATER)
    assert send_reconfirmations(session, ctx) == 1
    assert send_reconfirmations(session, ctx) == 0
    session.commit()

    assert outbox(session, contact.id) == []
    [(_, noted)] = events(session, contact.id, "Consent Reconfirmation Sent")
    assert (noted["consent_id"], noted["notice_channel"], noted["result"], noted["idempotency_key"]) == (
        consent_id,
        "sms",
        "no_address",
        None,
    )


def test_kakao_consents_are_reconfirmed_by_sms_and_informational_topics_are_not(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx, phone="010-2345-6789")
    _grant(session, ctx, contact.id, Channel.KAKAO)
    _grant(session, ctx, contact.id, Channel.SMS, topic="order_updates")
    informational = Context(
        ctx.settings.model_copy(update={"informational_topics": ["order_updates"]}), clock
    )

    clock.set(TWO_YEARS_LATER)
    assert send_reconfirmations(session, informational) == 1
    session.commit()

    assert [(m.channel, m.variables["consent_channel"]) for m in outbox(session, contact.id)] == [
        ("sms", "kakao")
    ]


def test_the_worker_s_periodic_pass_sends_them(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx)
        _grant(session, ctx, contact.id, Channel.EMAIL)

    clock.set(TWO_YEARS_LATER)
    run_periodic(sessions, ctx, full_pass=True)
    run_periodic(sessions, ctx, full_pass=True)

    with sessions() as session:
        assert [m.template for m in outbox(session, contact.id)] == [RECONFIRMATION]


def test_the_notice_states_when_consent_was_given_to_what_and_how_to_opt_out(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx, email="jiwoo@example.kr")
    _grant(session, ctx, contact.id, Channel.EMAIL)
    clock.set(TWO_YEARS_LATER)
    send_reconfirmations(session, ctx)
    [notice] = outbox(session, contact.id)
    settings = lawful(ctx.settings)

    korean = render_system_notice(
        "consent-reconfirmation",
        contact={"locale": "ko-KR", "timezone": None},
        variables=notice.variables,
        channel=MessageChannel.EMAIL,
        settings=settings,
        unsubscribe_url="https://acme.example/u/1.sig",
    )
    english = render_system_notice(
        "consent-reconfirmation",
        contact={"locale": "en-US", "timezone": "America/Los_Angeles"},
        variables=notice.variables,
        channel=MessageChannel.SMS,
        settings=settings,
    )

    assert korean.subject == "[에이크미] 광고성 정보 수신동의 확인 안내"
    assert korean.text.split("\n\n") == [
        "안녕하세요, 에이크미입니다. 고객님께서는 2026년 11월 22일에 이메일(으)로 '이벤트·할인 혜택' "
        "광고성 정보를 받는 데 동의하셨습니다 (동의 문구 버전 2026-11).",
        "정보통신망법에 따라 2년마다 수신동의 여부를 확인해 드립니다. 계속 받으시려면 하실 일은 없으며, "
        "수신동의는 그대로 유지됩니다.",
        "수신을 원하지 않으시면 언제든 무료로 거부하실 수 있습니다: https://acme.example/u/1.sig",
        "발신자: 에이크미 (02-123-4567, 서울시 중구 세종대로 1)",
    ]
    assert '<a href="https://acme.example/u/1.sig">https://acme.example/u/1.sig</a>' in korean.html
    # 10:00 in Seoul on 22 November is still the 21st in Los Angeles.
    assert english.subject is None
    assert english.text.startswith(
        "[에이크미] Hello from 에이크미. On November 21, 2026 you agreed to receive 'promotions and offers' "
        "advertising by email (wording version 2026-11)."
    )
    assert "You can opt out at any time, free of charge: 무료수신거부 080-500-4567" in english.text


def test_two_years_before_a_leap_day_is_the_28th() -> None:
    assert reconfirmation_cutoff(datetime(2028, 2, 29, 12, tzinfo=UTC)) == datetime(
        2026, 2, 28, 12, tzinfo=UTC
    )
