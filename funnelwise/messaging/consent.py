"""Recording consent (with the wording agreed to), confirming it by a signed link (double opt-in),
revoking it, and reading it for a batch of contacts.

Every change is logged with its source, time, IP and wording version; a change to a consent to
advertising also queues the notice of its result the law asks for (`consent_notices`).
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.db.dialect import insert, one_of
from funnelwise.errors import NotFound
from funnelwise.messaging.models import Consent
from funnelwise.tracking.log import record_event

TOPIC_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# The separate consent to advertising by SMS, Kakao or push between 21:00 and 08:00.
NIGHT_TOPIC = "night"
_BATCH = 5000
_TOKEN = re.compile(r"(\d{1,19})\.([A-Za-z0-9_-]{43})")


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    KAKAO = "kakao"
    PUSH = "push"


class ConsentStatus(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REVOKED = "revoked"


@dataclass(frozen=True)
class ConsentGrant:
    """What a person agreed to, where and from which address."""

    channel: Channel
    topic: str
    wording: str
    version: str
    source: str
    ip: str | None
    double_opt_in: bool = False


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    channel: str
    topic: str
    status: ConsentStatus
    wording: str
    version: str
    source: str
    ip: str | None
    recorded_at: datetime
    confirmed_at: datetime | None
    revoked_at: datetime | None


def grant_consent(session: Session, ctx: Context, contact_id: int, grant: ConsentGrant) -> ConsentOut:
    """Records the consent, "pending" until confirmed when it needs double opt-in, and logs it.

    A consent granted before stays granted: the person proved their address once already; the
    newest wording and version replace the old ones either way.
    """
    table = Consent.__table__
    now = ctx.clock.now()
    status = ConsentStatus.PENDING if grant.double_opt_in else ConsentStatus.GRANTED
    before = session.scalar(
        select(table.c.status).where(
            table.c.contact_id == contact_id,
            table.c.channel == grant.channel.value,
            table.c.topic == grant.topic,
        )
    )
    statement = insert(session, table).values(
        contact_id=contact_id,
        channel=grant.channel.value,
        topic=grant.topic,
        status=status.value,
        wording=grant.wording,
        version=grant.version,
        source=grant.source,
        ip=grant.ip,
        recorded_at=now,
    )
    was_granted = table.c.status == ConsentStatus.GRANTED.value
    # One upsert, so two submissions of one person at the same moment leave one row.
    statement = statement.on_conflict_do_update(
        index_elements=["contact_id", "channel", "topic"],
        set_={
            "status": case((was_granted, table.c.status), else_=statement.excluded.status),
            "confirmed_at": case((was_granted, table.c.confirmed_at), else_=None),
            "wording": statement.excluded.wording,
            "version": statement.excluded.version,
            "source": statement.excluded.source,
            "ip": statement.excluded.ip,
            "recorded_at": statement.excluded.recorded_at,
            "revoked_at": None,
        },
    ).returning(*table.c)
    consent = ConsentOut.model_validate(session.execute(statement).one(), from_attributes=True)
    record_event(
        session,
        ctx,
        contact_id,
        "Consent Granted",
        {
            "consent_id": consent.id,
            "channel": consent.channel,
            "topic": consent.topic,
            "status": consent.status.value,
            "wording": consent.wording,
            "version": consent.version,
            "source": consent.source,
            "ip": consent.ip,
        },
    )
    if consent.status is ConsentStatus.GRANTED and before != ConsentStatus.GRANTED:
        _notify_results(session, ctx, [consent])
    return consent


def confirm_consent(session: Session, ctx: Context, consent_id: int, ip: str | None) -> ConsentOut:
    """Turns a pending consent into a granted one; confirming twice changes nothing the second time."""
    consent = session.scalar(select(Consent).where(Consent.id == consent_id).with_for_update())
    if consent is None:
        raise NotFound("consent", consent_id)
    if consent.status == ConsentStatus.PENDING:
        consent.status = ConsentStatus.GRANTED.value
        consent.confirmed_at = ctx.clock.now()
        record_event(
            session,
            ctx,
            consent.contact_id,
            "Consent Confirmed",
            {
                "consent_id": consent.id,
                "channel": consent.channel,
                "topic": consent.topic,
                "version": consent.version,
                "ip": ip,
            },
        )
        session.flush()
        _notify_results(session, ctx, [ConsentOut.model_validate(consent)])
    return ConsentOut.model_validate(consent)


def revoke_consent(
    session: Session,
    ctx: Context,
    contact_id: int,
    channel: Channel | str,
    topic: str | None,
    *,
    source: str,
    ip: str | None,
) -> list[ConsentOut]:
    """Revokes a topic of a channel, or with `topic` None every topic of it; returns what changed.

    A named topic the person never agreed to is recorded as refused all the same: their choice is
    on record, and it is theirs to change by granting it again.
    Each change is logged as "Consent Revoked"; revoking twice changes nothing the second time.
    """
    table = Consent.__table__
    channel = Channel(channel)
    now = ctx.clock.now()
    changed: list[ConsentOut] = []
    if topic is not None:
        refused = (
            insert(session, table)
            .values(
                contact_id=contact_id,
                channel=channel.value,
                topic=topic,
                status=ConsentStatus.REVOKED.value,
                wording="",
                version="",
                source=source,
                ip=ip,
                recorded_at=now,
                revoked_at=now,
            )
            .on_conflict_do_nothing(index_elements=["contact_id", "channel", "topic"])
            .returning(*table.c)
        )
        changed += [ConsentOut.model_validate(row, from_attributes=True) for row in session.execute(refused)]
    revoke = (
        update(table)
        .where(
            table.c.contact_id == contact_id,
            table.c.channel == channel.value,
            table.c.status != ConsentStatus.REVOKED.value,
        )
        .values(status=ConsentStatus.REVOKED.value, revoked_at=now, source=source, ip=ip)
        .returning(*table.c)
    )
    if topic is not None:
        revoke = revoke.where(table.c.topic == topic)
    changed += [ConsentOut.model_validate(row, from_attributes=True) for row in session.execute(revoke)]
    changed.sort(key=lambda consent: consent.topic)
    for consent in changed:
        record_event(
            session,
            ctx,
            contact_id,
            "Consent Revoked",
            {
                "consent_id": consent.id,
                "channel": consent.channel,
                "topic": consent.topic,
                "status": consent.status.value,
                "wording": consent.wording,
                "version": consent.version,
                "source": source,
                "ip": ip,
            },
        )
    _notify_results(session, ctx, changed)
    return changed


def consent_status_among(
    session: Session, contact_ids: Sequence[int], channel: Channel | str, topic: str
) -> dict[int, str]:
    """Each contact's consent status for (channel, topic); contacts without one are left out."""
    table = Consent.__table__
    found: dict[int, str] = {}
    for start in range(0, len(contact_ids), _BATCH):
        rows = session.execute(
            select(table.c.contact_id, table.c.status).where(
                one_of(session, table.c.contact_id, contact_ids[start : start + _BATCH]),
                table.c.channel == Channel(channel).value,
                table.c.topic == topic,
            )
        )
        found.update({contact_id: status for contact_id, status in rows})
    return found


def night_consent_among(session: Session, contact_ids: Sequence[int], channel: Channel | str) -> set[int]:
    """The contacts who agreed to advertising at night (21:00-08:00) on this channel."""
    statuses = consent_status_among(session, contact_ids, channel, NIGHT_TOPIC)
    return {contact_id for contact_id, status in statuses.items() if status == ConsentStatus.GRANTED}


def _notify_results(session: Session, ctx: Context, consents: list[ConsentOut]) -> None:
    # Imported here: the notices build outbox rows with message channels, whose module imports
    # this one for `Channel`.
    from funnelwise.messaging.consent_notices import queue_consent_results

    queue_consent_results(session, ctx, consents)


def consents_of(session: Session, contact_id: int) -> list[ConsentOut]:
    rows = session.scalars(
        select(Consent).where(Consent.contact_id == contact_id).order_by(Consent.channel, Consent.topic)
    )
    return [ConsentOut.model_validate(row) for row in rows]


def confirmation_token(settings: Settings, consent_id: int) -> str:
    """`<consent id>.<HMAC-SHA256 of it>`: a link that confirms this consent and no other."""
    return f"{consent_id}.{_signature(settings, consent_id)}"


def consent_of_token(settings: Settings, token: str) -> int | None:
    """The consent id a token names, or None when it was not signed with our key."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    consent_id = int(match[1])
    if not hmac.compare_digest(match[2], _signature(settings, consent_id)):
        return None
    return consent_id


def _signature(settings: Settings, consent_id: int) -> str:
    key = settings.resolved_secret_key().encode()
    digest = hmac.new(key, f"consent-confirmation:{consent_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
