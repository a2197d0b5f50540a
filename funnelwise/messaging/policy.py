"""Whether a claimed message may go now: suppressed (with the reason), held until later, or sent.

Decided for a whole batch with a handful of queries: the suppression list, consents, and the
contacts' recent sends (for the dedupe window and the frequency caps). The order of the checks is
the order a person would ask: can we reach them at all, may we, should we, and is now the time.
"""

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.config import Settings
from funnelwise.contacts.normalize import normalize_email
from funnelwise.db.dialect import one_of
from funnelwise.messaging.claimed import ClaimedMessage
from funnelwise.messaging.compliance import night_hold_until
from funnelwise.messaging.consent import ConsentStatus
from funnelwise.messaging.message import CONSENT_CHANNEL, SYSTEM_PREFIX, MessageChannel, Purpose
from funnelwise.messaging.models import Consent
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.messaging.send_time import best_hours, next_best_time
from funnelwise.messaging.suppression import suppressed_among
from funnelwise.workflows.local_time import contact_zone

_PHONE = re.compile(r"\+[1-9]\d{6,14}")
NIGHT_TOPIC = "night"
# The advertising law's night-time rule: these channels may not advertise from 21:00 to 08:00.
NIGHT_CHANNELS = {MessageChannel.SMS, MessageChannel.KAKAO_BRAND, MessageChannel.PUSH}
BEST_HOUR_REASON = "held for the contact's best hour"


@dataclass(frozen=True)
class Go:
    recipient: str


@dataclass(frozen=True)
class Suppress:
    reason: str


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str


Decision = Go | Suppress | Defer
# Messages that go to the address they name (`variables.to`) rather than the contact's: a test send,
# and a form's double opt-in mail, which confirms the address the person typed.
ADDRESSED_SOURCES = frozenset({"test", "form"})


def recipient_of(message: ClaimedMessage, contact: dict[str, Any]) -> tuple[str | None, str | None]:
    """The address to use and its suppression kind, or (None, reason) when there is none usable."""
    override = message.variables.get("to") if message.source in ADDRESSED_SOURCES else None
    channel = message.channel
    if channel == MessageChannel.EMAIL:
        address = override or contact.get("email")
        if not address:
            return None, "the contact has no email address"
        try:
            return normalize_email(address), "email"
        except ValueError as exc:
            return None, str(exc)
    if channel in (MessageChannel.SMS, MessageChannel.KAKAO, MessageChannel.KAKAO_BRAND):
        address = override or contact.get("phone")
        if not address:
            return None, "the contact has no phone number"
        if not _PHONE.fullmatch(address):
            return None, f"invalid phone number {address!r}: expected E.164, e.g. +821012345678"
        return address, "phone"
    if channel == MessageChannel.PUSH:
        token = override or contact.get("push_token")
        if not token or not isinstance(token, str):
            return None, "the contact has no push token (property 'push_token')"
        return token, "push"
    return "", "webhook"


class Policy:
    """The checks for one batch, with the facts they need read once."""

    def __init__(self, session: Session, settings: Settings, now: datetime) -> None:
        self._session = session
        self._settings = settings
        self._now = now
        self._quiet = parse_quiet_hours(settings.quiet_hours)
        self._best_hours: dict[int, int] = {}

    def decide(
        self, messages: Sequence[ClaimedMessage], contacts: dict[int, dict[str, Any]]
    ) -> dict[int, Decision]:
        decisions: dict[int, Decision] = {}
        addresses: dict[int, tuple[str, str]] = {}
        for message in messages:
            contact = contacts.get(message.contact_id)
            if contact is None:
                decisions[message.id] = Suppress("the contact no longer exists")
                continue
            address, kind = recipient_of(message, contact)
            if address is None:
                decisions[message.id] = Suppress(kind or "no address")
            else:
                addresses[message.id] = (address, kind or "")
        suppressed = self._suppressed(addresses.values())
        ids = sorted({m.contact_id for m in messages if m.id in addresses})
        waiting = sorted({m.contact_id for m in messages if m.id in addresses and _wants_best_hour(m)})
        self._best_hours = best_hours(self._session, waiting, self._now, self._settings) if waiting else {}
        consents = self._consents(ids)
        recent = self._recent_sends(ids)
        for message in messages:
            if message.id not in addresses:
                continue
            address, kind = addresses[message.id]
            contact = contacts[message.contact_id]
            decisions[message.id] = self._decide_one(
                message, address, kind, contact, suppressed, consents, recent
            )
        return decisions

    def _decide_one(
        self,
        message: ClaimedMessage,
        address: str,
        kind: str,
        contact: dict[str, Any],
        suppressed: set[tuple[str, str]],
        consents: dict[tuple[int, str, str], str],
        recent: "RecentSends",
    ) -> Decision:
        if (kind, address) in suppressed:
            return Suppress(f"{address} is on the suppression list")
        if message.source == "test":
            return Go(address)
        refused = self._refusal(message, consents, recent)
        if refused is not None:
            return Suppress(refused)
        held = self._hold(message, contact, consents)
        if held is not None:
            return held
        if message.purpose == Purpose.ADVERTISING:
            recent.count(message.contact_id, self._now)
        recent.add(message.contact_id, message.template, self._now)
        return Go(address)

    def _refusal(
        self,
        message: ClaimedMessage,
        consents: dict[tuple[int, str, str], str],
        recent: "RecentSends",
    ) -> str | None:
        """Why this message may not be sent at all: the law, consent, dedupe or a cap."""
        advertising = message.purpose == Purpose.ADVERTISING
        if advertising and message.channel == MessageChannel.KAKAO:
            return "KakaoTalk AlimTalk carries informational messages only, not advertising"
        consent_channel = CONSENT_CHANNEL[message.channel]
        if advertising and consent_channel is not None:
            status = consents.get((message.contact_id, consent_channel.value, message.topic or ""))
            if status != ConsentStatus.GRANTED:
                return (
                    f"no {consent_channel.value} consent for topic '{message.topic}' "
                    f"({status or 'never given'})"
                )
        window = self._settings.dedupe_hours
        # A system notice states one fact each time (an opt-out after an opt-in, a second form's
        # confirmation): the window that spares people a repeated campaign must not swallow it.
        system = message.template.startswith(SYSTEM_PREFIX)
        if (
            window
            and not system
            and recent.sent_template_since(
                message.contact_id, message.template, self._now - timedelta(hours=window)
            )
        ):
            return f"'{message.template}' was sent to this contact within {window} hours"
        if advertising:
            return recent.cap_reached(message.contact_id, self._now, self._settings)
        return None

    def _hold(
        self, message: ClaimedMessage, contact: dict[str, Any], consents: dict[tuple[int, str, str], str]
    ) -> Defer | None:
        """Until when this message waits: quiet hours, the night-time rule, the contact's best hour."""
        tz = contact_zone(contact.get("timezone"), self._settings.tz)
        if message.purpose == Purpose.ADVERTISING:
            if self._quiet is not None:
                until = quiet_until(self._now, tz, self._quiet)
                if until is not None:
                    return Defer(until, f"quiet hours {self._settings.quiet_hours} in {tz}")
            consent_channel = CONSENT_CHANNEL[message.channel]
            if message.channel in NIGHT_CHANNELS and consent_channel is not None:
                night = consents.get((message.contact_id, consent_channel.value, NIGHT_TOPIC))
                until = night_hold_until(self._now, tz)
                if until is not None and night != ConsentStatus.GRANTED:
                    return Defer(until, "advertising is held from 21:00 to 08:00 without night-time consent")
        best = self._best_time(message, tz)
        return Defer(best, BEST_HOUR_REASON) if best is not None else None

    def _best_time(self, message: ClaimedMessage, tz: tzinfo) -> datetime | None:
        if not _wants_best_hour(message):
            return None
        hour = self._best_hours[message.contact_id]
        if self._now.astimezone(tz).hour == hour:
            return None
        return next_best_time(self._now, tz, hour)

    def _suppressed(self, addresses: Any) -> set[tuple[str, str]]:
        by_kind: dict[str, list[str]] = defaultdict(list)
        for address, kind in addresses:
            if kind in ("email", "phone"):
                by_kind[kind].append(address)
        return {
            (kind, address)
            for kind, values in by_kind.items()
            for address in suppressed_among(self._session, kind, values)
        }

    def _consents(self, contact_ids: list[int]) -> dict[tuple[int, str, str], str]:
        if not contact_ids:
            return {}
        rows = self._session.execute(
            select(Consent.contact_id, Consent.channel, Consent.topic, Consent.status).where(
                one_of(self._session, Consent.contact_id, contact_ids)
            )
        )
        return {(row.contact_id, row.channel, row.topic): row.status for row in rows}

    def _recent_sends(self, contact_ids: list[int]) -> "RecentSends":
        hours = [self._settings.dedupe_hours or 0]
        if self._settings.cap_advertising_per_week:
            hours.append(24 * 7)
        elif self._settings.cap_advertising_per_day:
            hours.append(24)
        since = self._now - timedelta(hours=max(hours))
        recent = RecentSends()
        if not contact_ids or since >= self._now:
            return recent
        outbox = OutboxMessage
        rows = self._session.execute(
            select(outbox.contact_id, outbox.template, outbox.purpose, outbox.sent_at).where(
                one_of(self._session, outbox.contact_id, contact_ids),
                outbox.sent_at >= since,
                outbox.status == OutboxStatus.SENT,
            )
        )
        for row in rows:
            recent.add(row.contact_id, row.template, row.sent_at)
            if row.purpose == Purpose.ADVERTISING:
                recent.count(row.contact_id, row.sent_at)
        return recent


def _wants_best_hour(message: ClaimedMessage) -> bool:
    """Asked to go at the contact's best hour, and not already held for it once."""
    return message.variables.get("send_time") == "best" and message.reason != BEST_HOUR_REASON


class RecentSends:
    """What each contact of the batch was sent lately, including earlier messages of this batch."""

    def __init__(self) -> None:
        self._templates: dict[tuple[int, str], datetime] = {}
        self._advertising: dict[int, list[datetime]] = defaultdict(list)

    def add(self, contact_id: int, template: str, at: datetime) -> None:
        key = (contact_id, template)
        if key not in self._templates or self._templates[key] < at:
            self._templates[key] = at

    def count(self, contact_id: int, at: datetime) -> None:
        self._advertising[contact_id].append(at)

    def sent_template_since(self, contact_id: int, template: str, since: datetime) -> bool:
        at = self._templates.get((contact_id, template))
        return at is not None and at >= since

    def cap_reached(self, contact_id: int, now: datetime, settings: Settings) -> str | None:
        """The cap this contact reached, in words, or None."""
        times = self._advertising.get(contact_id, [])
        day = sum(t > now - timedelta(days=1) for t in times)
        week = sum(t > now - timedelta(days=7) for t in times)
        for window, sent, cap in (
            ("day", day, settings.cap_advertising_per_day),
            ("week", week, settings.cap_advertising_per_week),
        ):
            if cap is not None and sent >= cap:
                return f"frequency cap: at most {cap} advertising message(s) a {window}"
        return None


def parse_quiet_hours(value: str | None) -> tuple[time, time] | None:
    """`"22:00-09:00"` as (start, end) local times; None when not set."""
    if not value:
        return None
    start, _, end = value.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def quiet_until(now: datetime, tz: tzinfo, quiet: tuple[time, time]) -> datetime | None:
    """When the quiet window `now` falls in ends, or None when it is not quiet now."""
    start, end = quiet
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=tz)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return ends
