"""The two-yearly reconfirmation of consent to advertising (정보통신망법 제50조 제8항).

Every consent to an advertising topic that was granted, confirmed or last reconfirmed two years
ago or more gets one informational notice in the outbox (`system:consent-reconfirmation`) stating
when consent was given, to what, and how to opt out; the consent's `reconfirmation_sent_at` moves
on, and "Consent Reconfirmation Sent" records the result. A contact with no address on that
channel gets no notice; the event says so (result `no_address`). The consent itself stays granted:
the law asks us to tell, not to ask again.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, one_of
from funnelwise.messaging.consent import Channel, ConsentStatus
from funnelwise.messaging.consent_labels import NOTICE_CHANNEL
from funnelwise.messaging.message import Purpose
from funnelwise.messaging.models import Consent
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.reactions.queue import mark_due
from funnelwise.tracking.log import SystemEvent, record_events

RECONFIRMATION_TEMPLATE = "system:consent-reconfirmation"
EVERY_YEARS = 2
EVENT = "Consent Reconfirmation Sent"
QUEUED = "queued"
NO_ADDRESS = "no_address"
_BATCH = 1000


def send_reconfirmations(session: Session, ctx: Context) -> int:
    """Queues the notices that fell due; how many consents it handled (queued or noted without address).

    A batch of consents at a time, each in a handful of statements. On PostgreSQL the consents are
    claimed with `SKIP LOCKED`, so workers running this together notify each consent once; the
    notice's idempotency key (`reconfirm-<consent>-<anchor date>`) and the event's message id make
    a repeat write nothing.
    """
    handled = 0
    while True:
        due = _due(session, ctx)
        if not due:
            return handled
        _notify(session, ctx, due)
        handled += len(due)
        if len(due) < _BATCH:
            return handled


def reconfirmation_cutoff(now: datetime) -> datetime:
    """The moment two years before `now` (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - EVERY_YEARS)
    except ValueError:
        return now.replace(year=now.year - EVERY_YEARS, day=28)


def _due(session: Session, ctx: Context) -> list[Row[Any]]:
    consented_at = func.coalesce(Consent.confirmed_at, Consent.recorded_at)
    anchor = func.coalesce(Consent.reconfirmation_sent_at, Consent.confirmed_at, Consent.recorded_at)
    query = (
        select(
            Consent.id,
            Consent.contact_id,
            Consent.channel,
            Consent.topic,
            Consent.version,
            consented_at.label("consented_at"),
            anchor.label("anchor"),
            Contact.email,
            Contact.phone,
            Contact.properties,
        )
        .join(Contact, Contact.id == Consent.contact_id)
        .where(
            Consent.status == ConsentStatus.GRANTED.value, anchor <= reconfirmation_cutoff(ctx.clock.now())
        )
        .order_by(Consent.id)
        .limit(_BATCH)
    )
    if ctx.settings.informational_topics:
        query = query.where(Consent.topic.not_in(ctx.settings.informational_topics))
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(of=Consent, skip_locked=True)
    return list(session.execute(query))


def _notify(session: Session, ctx: Context, due: list[Row[Any]]) -> None:
    now = ctx.clock.now()
    messages: list[dict[str, Any]] = []
    events: list[SystemEvent] = []
    for consent in due:
        key = f"reconfirm-{consent.id}-{consent.anchor:%Y-%m-%d}"
        channel = NOTICE_CHANNEL[consent.channel]
        variables = {
            "consent_id": consent.id,
            "consent_channel": consent.channel,
            "topic": consent.topic,
            "consented_at": consent.consented_at.isoformat(),
            "version": consent.version,
        }
        result = QUEUED if _has_address(consent) else NO_ADDRESS
        if result == QUEUED:
            messages.append(_message(key, consent, channel.value, variables, now))
        events.append(
            SystemEvent(
                message_id=f"fw-{key}",
                contact_id=consent.contact_id,
                name=EVENT,
                at=now,
                properties={
                    **variables,
                    "channel": consent.channel,
                    "notice_channel": channel.value,
                    "result": result,
                    "idempotency_key": key if result == QUEUED else None,
                },
            )
        )
    if messages:
        outbox = insert(session, OutboxMessage.__table__)
        session.execute(outbox.on_conflict_do_nothing(index_elements=["idempotency_key"]), messages)
    session.execute(
        update(Consent)
        .where(one_of(session, Consent.id, [consent.id for consent in due]))
        .values(reconfirmation_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    record_events(session, events)
    # Journeys may react to the event ("Consent Reconfirmation Sent" as a trigger).
    mark_due(session, ctx, [consent.contact_id for consent in due])


def _message(
    key: str, consent: Row[Any], channel: str, variables: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "contact_id": consent.contact_id,
        "channel": channel,
        "template": RECONFIRMATION_TEMPLATE,
        "status": OutboxStatus.QUEUED.value,
        "source": "compliance",
        "variables": variables,
        "purpose": Purpose.INFORMATIONAL.value,
        # So the notice's own unsubscribe link refuses this topic.
        "topic": consent.topic,
        "due_at": now,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def _has_address(consent: Row[Any]) -> bool:
    if consent.channel == Channel.EMAIL:
        return bool(consent.email)
    if consent.channel in (Channel.SMS, Channel.KAKAO):
        return bool(consent.phone)
    return bool((consent.properties or {}).get("push_token"))
