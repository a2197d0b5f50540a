"""Revoking consent, reading it for a batch, and the result notice the law asks for on each change."""

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.messaging.consent import (
    Channel,
    ConsentGrant,
    ConsentStatus,
    confirm_consent,
    consent_status_among,
    consents_of,
    grant_consent,
    night_consent_among,
    revoke_consent,
)
from funnelwise.messaging.sender import Sender
from tests.conftest import START
from tests.factories import make_contact
from tests.messaging.compliance.builders import events, outbox


def _grant(channel: Channel, topic: str, *, double_opt_in: bool = False) -> ConsentGrant:
    return ConsentGrant(
        channel, topic, f"{topic} 수신 동의", "v2", "form:spring", "203.0.113.7", double_opt_in
    )


def test_revoking_one_topic_leaves_the_others_and_is_logged_with_source_and_ip(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx, phone="010-2345-6789")
    promotions = grant_consent(session, ctx, contact.id, _grant(Channel.SMS, "promotions"))
    grant_consent(session, ctx, contact.id, _grant(Channel.SMS, "newsletter"))
    clock.advance(timedelta(days=3))

    [revoked] = revoke_consent(
        session, ctx, contact.id, Channel.SMS, "promotions", source="080", ip="198.51.100.9"
    )
    again = revoke_consent(session, ctx, contact.id, Channel.SMS, "promotions", source="080", ip=None)
    session.commit()

    assert (revoked.id, revoked.status, revoked.revoked_at) == (
        promotions.id,
        ConsentStatus.REVOKED,
        START + timedelta(days=3),
    )
    assert (revoked.source, revoked.ip, revoked.wording, revoked.version) == (
        "080",
        "198.51.100.9",
        "promotions 수신 동의",
        "v2",
    )
    assert again == []
    assert {(c.topic, c.status) for c in consents_of(session, contact.id)} == {
        ("newsletter", ConsentStatus.GRANTED),
        ("promotions", ConsentStatus.REVOKED),
    }
    assert events(session, contact.id, "Consent Revoked") == [
        (
            "Consent Revoked",
            {
                "consent_id": promotions.id,
                "channel": "sms",
                "topic": "promotions",
                "status": "revoked",
                "wording": "promotions 수신 동의",
                "version": "v2",
                "source": "080",
                "ip": "198.51.100.9",
            },
        )
    ]


def test_revoking_a_whole_channel_revokes_every_topic_of_it_and_no_other_channel(
    session: Session, ctx: Context
) -> None:
    contact = make_contact(session, ctx, phone="010-2345-6789")
    for topic in ("newsletter", "promotions", "night"):
        grant_consent(session, ctx, contact.id, _grant(Channel.SMS, topic))
    grant_consent(session, ctx, contact.id, _grant(Channel.EMAIL, "promotions"))

    revoked = revoke_consent(session, ctx, contact.id, Channel.SMS, None, source="preference_page", ip=None)
    session.commit()

    assert [(c.channel, c.topic) for c in revoked] == [
        ("sms", "newsletter"),
        ("sms", "night"),
        ("sms", "promotions"),
    ]
    assert consent_status_among(session, [contact.id], Channel.EMAIL, "promotions") == {contact.id: "granted"}


def test_refusing_a_topic_never_agreed_to_is_recorded_as_the_persons_choice(
    session: Session, ctx: Context
) -> None:
    contact = make_contact(session, ctx)

    [refused] = revoke_consent(session, ctx, contact.id, "email", "product_news", source="one_click", ip=None)
    session.commit()

    assert (refused.channel, refused.topic, refused.status, refused.wording) == (
        "email",
        "product_news",
        ConsentStatus.REVOKED,
        "",
    )
    regranted = grant_consent(session, ctx, contact.id, _grant(Channel.EMAIL, "product_news"))
    assert (regranted.id, regranted.status, regranted.revoked_at) == (refused.id, ConsentStatus.GRANTED, None)


def test_the_sender_reads_consent_and_night_time_consent_for_a_whole_batch(
    session: Session, ctx: Context
) -> None:
    day_only = make_contact(session, ctx, phone="010-1111-2222").id
    night_owl = make_contact(session, ctx, phone="010-3333-4444").id
    stranger = make_contact(session, ctx, phone="010-5555-6666").id
    grant_consent(session, ctx, day_only, _grant(Channel.SMS, "promotions"))
    grant_consent(session, ctx, night_owl, _grant(Channel.SMS, "promotions"))
    grant_consent(session, ctx, night_owl, _grant(Channel.SMS, "night"))
    grant_consent(session, ctx, day_only, _grant(Channel.KAKAO, "night"))
    revoke_consent(session, ctx, day_only, Channel.SMS, "promotions", source="080", ip=None)
    session.commit()

    everyone = [day_only, night_owl, stranger]
    assert consent_status_among(session, everyone, Channel.SMS, "promotions") == {
        day_only: "revoked",
        night_owl: "granted",
    }
    assert night_consent_among(session, everyone, Channel.SMS) == {night_owl}
    assert night_consent_among(session, everyone, "kakao") == {day_only}


def test_an_opt_in_queues_one_notice_of_its_result_and_a_repeat_grant_none(
    session: Session, ctx: Context
) -> None:
    contact = make_contact(session, ctx, phone="010-2345-6789")

    consent = grant_consent(session, ctx, contact.id, _grant(Channel.SMS, "promotions"))
    grant_consent(session, ctx, contact.id, _grant(Channel.SMS, "promotions"))
    session.commit()

    [notice] = outbox(session, contact.id)
    assert (notice.template, notice.channel, notice.purpose, notice.status, notice.source, notice.topic) == (
        "system:consent-result",
        "sms",
        "informational",
        "queued",
        "compliance",
        "promotions",
    )
    assert notice.due_at == START
    assert notice.idempotency_key == f"consent-result-{consent.id}-granted-20261122T010000.000000Z"
    assert notice.variables == {
        "consent_ids": [consent.id],
        "consent_channel": "sms",
        "topics": ["promotions"],
        "status": "granted",
        "at": START.isoformat(),
    }


def test_a_double_opt_in_is_told_its_result_when_confirmed_not_when_asked(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx)
    pending = grant_consent(session, ctx, contact.id, _grant(Channel.EMAIL, "newsletter", double_opt_in=True))
    session.commit()
    assert outbox(session, contact.id) == []

    clock.advance(timedelta(hours=1))
    confirm_consent(session, ctx, pending.id, None)
    confirm_consent(session, ctx, pending.id, None)
    session.commit()

    [notice] = outbox(session, contact.id)
    assert (notice.channel, notice.variables["status"], notice.variables["at"]) == (
        "email",
        "granted",
        (START + timedelta(hours=1)).isoformat(),
    )


def test_an_opt_out_of_a_whole_channel_is_told_in_one_notice_naming_every_topic(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx)
    for topic in ("newsletter", "promotions"):
        grant_consent(session, ctx, contact.id, _grant(Channel.EMAIL, topic))
    clock.advance(timedelta(days=1))

    revoke_consent(session, ctx, contact.id, Channel.EMAIL, None, source="preference_page", ip=None)
    session.commit()

    results = [(m.variables["status"], m.variables["topics"], m.topic) for m in outbox(session, contact.id)]
    assert results == [
        ("granted", ["newsletter"], "newsletter"),
        ("granted", ["promotions"], "promotions"),
        ("revoked", ["newsletter", "promotions"], None),
    ]


def test_informational_topics_and_a_switched_off_setting_queue_no_notice(
    session: Session, ctx: Context
) -> None:
    contact = make_contact(session, ctx)
    informational = Context(
        ctx.settings.model_copy(update={"informational_topics": ["order_updates"]}), ctx.clock
    )
    grant_consent(session, informational, contact.id, _grant(Channel.EMAIL, "order_updates"))
    quiet = Context(ctx.settings.model_copy(update={"consent_result_notices": False}), ctx.clock)
    grant_consent(session, quiet, contact.id, _grant(Channel.EMAIL, "promotions"))
    revoke_consent(session, quiet, contact.id, Channel.EMAIL, None, source="api", ip=None)
    session.commit()

    assert outbox(session, contact.id) == []


def test_an_opt_out_soon_after_an_opt_in_is_told_too_whatever_the_dedupe_window(
    sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, phone="010-2345-6789")
        grant_consent(session, ctx, contact.id, _grant(Channel.SMS, "promotions"))
        session.commit()
    clock.advance(timedelta(hours=1))
    with sessions() as session:
        revoke_consent(session, ctx, contact.id, Channel.SMS, "promotions", source="080", ip=None)
        session.commit()

    with Sender(sessions, ctx) as sender:
        sender.deliver_all_due()

    with sessions() as session:
        notices = [(m.variables["status"], m.status) for m in outbox(session, contact.id)]
    assert ctx.settings.dedupe_hours == 24
    assert notices == [("granted", "sent"), ("revoked", "sent")]
