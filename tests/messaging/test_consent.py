"""Consent: recorded with its wording, confirmed by a signed link when it needs double opt-in."""

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.messaging.consent import (
    Channel,
    ConsentGrant,
    ConsentStatus,
    confirm_consent,
    confirmation_token,
    consent_of_token,
    consents_of,
    grant_consent,
)
from funnelwise.tracking.models import Event
from tests.conftest import START
from tests.factories import make_contact

NEWSLETTER = ConsentGrant(
    channel=Channel.EMAIL,
    topic="newsletter",
    wording="뉴스레터 수신에 동의합니다.",
    version="2026-11",
    source="form:webinar",
    ip="203.0.113.7",
    double_opt_in=True,
)


def _events(session: Session, contact_id: int) -> list[tuple[str, dict]]:
    rows = session.execute(
        select(Event.name, Event.properties).where(Event.contact_id == contact_id).order_by(Event.id)
    )
    return [(name, properties) for name, properties in rows]


def test_a_single_opt_in_consent_is_granted_and_logged_with_its_wording(
    session: Session, ctx: Context
) -> None:
    contact = make_contact(session, ctx)
    grant = ConsentGrant(
        Channel.SMS, "promotions", "광고성 문자 수신 동의", "v3", "form:webinar", "203.0.113.7"
    )

    consent = grant_consent(session, ctx, contact.id, grant)
    session.commit()

    assert consents_of(session, contact.id) == [consent]
    assert (consent.status, consent.wording, consent.version) == (
        ConsentStatus.GRANTED,
        "광고성 문자 수신 동의",
        "v3",
    )
    assert (consent.source, consent.ip, consent.recorded_at, consent.confirmed_at) == (
        "form:webinar",
        "203.0.113.7",
        START,
        None,
    )
    assert _events(session, contact.id) == [
        (
            "Consent Granted",
            {
                "consent_id": consent.id,
                "channel": "sms",
                "topic": "promotions",
                "status": "granted",
                "wording": "광고성 문자 수신 동의",
                "version": "v3",
                "source": "form:webinar",
                "ip": "203.0.113.7",
            },
        )
    ]


def test_a_double_opt_in_consent_waits_for_its_link_and_is_confirmed_once(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    contact = make_contact(session, ctx)
    pending = grant_consent(session, ctx, contact.id, NEWSLETTER)
    session.commit()
    assert pending.status is ConsentStatus.PENDING

    clock.advance(timedelta(minutes=5))
    confirmed = confirm_consent(session, ctx, pending.id, "198.51.100.1")
    again = confirm_consent(session, ctx, pending.id, "198.51.100.1")
    session.commit()

    assert (confirmed.status, confirmed.confirmed_at) == (ConsentStatus.GRANTED, START + timedelta(minutes=5))
    assert again == confirmed
    assert [name for name, _ in _events(session, contact.id)] == ["Consent Granted", "Consent Confirmed"]
    assert _events(session, contact.id)[1][1] == {
        "consent_id": pending.id,
        "channel": "email",
        "topic": "newsletter",
        "version": "2026-11",
        "ip": "198.51.100.1",
    }


def test_a_granted_consent_asked_again_stays_granted_with_the_newest_wording(
    session: Session, ctx: Context
) -> None:
    contact = make_contact(session, ctx)
    first = grant_consent(session, ctx, contact.id, NEWSLETTER)
    confirm_consent(session, ctx, first.id, None)
    newer = replace(NEWSLETTER, wording="새 뉴스레터 문구", version="2027-01")

    again = grant_consent(session, ctx, contact.id, newer)
    session.commit()

    assert (again.id, again.status, again.wording, again.version) == (
        first.id,
        ConsentStatus.GRANTED,
        "새 뉴스레터 문구",
        "2027-01",
    )
    assert again.confirmed_at == START


def test_a_confirmation_token_names_its_consent_and_refuses_any_change(settings: Settings) -> None:
    token = confirmation_token(settings, 42)
    other_key = Settings(database_url=settings.database_url, secret_key="another-key", _env_file=None)

    assert consent_of_token(settings, token) == 42
    assert consent_of_token(settings, token.replace("42.", "43.", 1)) is None
    assert consent_of_token(settings, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert consent_of_token(settings, "42") is None
    assert consent_of_token(other_key, token) is None
