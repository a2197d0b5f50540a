"""A recipient's subscription preferences, reached from a message's signed unsubscribe link.

The token names an outbox message; the message names its contact, channel and topic. One-click
unsubscribe (RFC 8058) refuses that topic on that channel; the preference page shows every
channel the contact can be reached on with a box per topic, and saves what is ticked.
"""

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from funnelwise.config import Settings
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.messaging.consent import (
    NIGHT_TOPIC,
    Channel,
    ConsentGrant,
    ConsentOut,
    ConsentStatus,
    consents_of,
    grant_consent,
    revoke_consent,
)
from funnelwise.messaging.consent_labels import Language, channel_label, language_of, topic_label
from funnelwise.messaging.links import UNSUBSCRIBE, message_of_token
from funnelwise.messaging.message import CONSENT_CHANNEL, MessageChannel, event_name, event_properties
from funnelwise.messaging.models import MessageTemplate
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.tracking.log import record_event

SOURCE = "preference_page"
ONE_CLICK_SOURCE = "one_click_unsubscribe"
# The version of the preference page's consent wording, stored with every consent it grants.
WORDING_VERSION = "preference-page-1"
# Night-time consent is about SMS, Kakao and push; email is outside the night-time rule.
_NIGHT_CHANNELS = frozenset({Channel.SMS, Channel.KAKAO, Channel.PUSH})


@dataclass(frozen=True)
class UnsubscribeTarget:
    """What an unsubscribe token leads to: the message, its contact, channel and topic."""

    message_id: int
    contact_id: int
    channel: MessageChannel
    consent_channel: Channel | None
    # None when neither the message nor its template names one: then the whole channel.
    topic: str | None
    template: str
    workflow_id: int | None
    broadcast_id: int | None
    variant: str | None
    language: Language


@dataclass(frozen=True)
class TopicChoice:
    channel: Channel
    topic: str
    label: str
    status: ConsentStatus | None

    @property
    def granted(self) -> bool:
        return self.status is ConsentStatus.GRANTED

    @property
    def key(self) -> str:
        """The form input value naming this box: `<channel>:<topic>`."""
        return f"{self.channel.value}:{self.topic}"


@dataclass(frozen=True)
class ChannelChoices:
    channel: Channel
    label: str
    topics: list[TopicChoice]


def target_of_token(session: Session, settings: Settings, token: str) -> UnsubscribeTarget | None:
    """The message an unsubscribe token names, or None for a token we did not sign or a message gone."""
    message_id = message_of_token(settings, UNSUBSCRIBE, token)
    if message_id is None:
        return None
    row = session.execute(
        select(OutboxMessage, Contact.locale)
        .join(Contact, Contact.id == OutboxMessage.contact_id)
        .where(OutboxMessage.id == message_id)
    ).one_or_none()
    if row is None:
        return None
    message, locale = row
    topic = message.topic or session.scalar(
        select(MessageTemplate.topic).where(MessageTemplate.name == message.template)
    )
    channel = MessageChannel(message.channel)
    return UnsubscribeTarget(
        message_id=message.id,
        contact_id=message.contact_id,
        channel=channel,
        consent_channel=CONSENT_CHANNEL[channel],
        topic=topic or None,
        template=message.template,
        workflow_id=message.workflow_id,
        broadcast_id=message.broadcast_id,
        variant=message.variant,
        language=language_of(locale),
    )


def unsubscribe_one_click(
    session: Session, ctx: Context, target: UnsubscribeTarget, *, ip: str | None
) -> list[ConsentOut]:
    """Refuses the message's topic on its channel (or the whole channel without a topic)."""
    if target.consent_channel is None:
        return []
    changed = revoke_consent(
        session, ctx, target.contact_id, target.consent_channel, target.topic, source=ONE_CLICK_SOURCE, ip=ip
    )
    _mark_unsubscribed(session, ctx, target)
    return changed


def preference_choices(
    session: Session, settings: Settings, contact_id: int, language: Language
) -> list[ChannelChoices]:
    """A box per topic for each channel the contact can be reached on (or has consents on)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return []
    consents = consents_of(session, contact_id)
    status = {(c.channel, c.topic): c.status for c in consents}
    reachable = {
        Channel.EMAIL: bool(contact.email),
        Channel.SMS: bool(contact.phone),
        Channel.KAKAO: bool(contact.phone),
        Channel.PUSH: bool((contact.properties or {}).get("push_token")),
    }
    found: list[ChannelChoices] = []
    for channel in Channel:
        known = [c.topic for c in consents if c.channel == channel.value]
        if not reachable[channel] and not known:
            continue
        topics = list(dict.fromkeys([*settings.consent_topics, *known]))
        if channel in _NIGHT_CHANNELS and NIGHT_TOPIC not in topics:
            topics.append(NIGHT_TOPIC)
        if channel not in _NIGHT_CHANNELS and NIGHT_TOPIC in topics and NIGHT_TOPIC not in known:
            topics.remove(NIGHT_TOPIC)
        boxes = [
            TopicChoice(
                channel,
                topic,
                topic_label(settings, topic, language),
                status.get((channel.value, topic)),
            )
            for topic in topics
        ]
        found.append(ChannelChoices(channel, channel_label(channel, language), boxes))
    return found


def save_preferences(
    session: Session,
    ctx: Context,
    target: UnsubscribeTarget,
    ticked: set[str],
    *,
    everything: bool,
    ip: str | None,
) -> list[ConsentOut]:
    """Grants the ticked boxes and revokes the unticked ones; `everything` revokes every channel.

    `ticked` holds `<channel>:<topic>` keys; boxes not on the page are ignored. Returns what changed.
    """
    choices = preference_choices(session, ctx.settings, target.contact_id, target.language)
    changed: list[ConsentOut] = []
    for group in choices:
        if everything:
            changed += revoke_consent(
                session, ctx, target.contact_id, group.channel, None, source=SOURCE, ip=ip
            )
            continue
        for box in group.topics:
            wanted = box.key in ticked
            if wanted and not box.granted:
                changed.append(grant_consent(session, ctx, target.contact_id, _grant(box, group, target, ip)))
            elif not wanted and box.status in (ConsentStatus.GRANTED, ConsentStatus.PENDING):
                changed += revoke_consent(
                    session, ctx, target.contact_id, box.channel, box.topic, source=SOURCE, ip=ip
                )
    if everything or any(_refuses_target(consent, target) for consent in changed):
        _mark_unsubscribed(session, ctx, target)
    return changed


def _grant(
    box: TopicChoice, group: ChannelChoices, target: UnsubscribeTarget, ip: str | None
) -> ConsentGrant:
    if target.language == "ko":
        wording = f"{group.label}(으)로 '{box.label}' 광고성 정보를 받는 데 동의합니다."
    else:
        wording = f"I agree to receive '{box.label}' advertising by {group.label}."
    return ConsentGrant(box.channel, box.topic, wording, WORDING_VERSION, SOURCE, ip)


def _refuses_target(consent: ConsentOut, target: UnsubscribeTarget) -> bool:
    return (
        consent.status is ConsentStatus.REVOKED
        and target.consent_channel is not None
        and consent.channel == target.consent_channel.value
        and (target.topic is None or consent.topic == target.topic)
    )


def _mark_unsubscribed(session: Session, ctx: Context, target: UnsubscribeTarget) -> None:
    """The message's `unsubscribed_at` and its "<Channel> Unsubscribed" event, the first time only."""
    now = ctx.clock.now()
    marked = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == target.message_id, OutboxMessage.unsubscribed_at.is_(None))
        .values(unsubscribed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        return
    properties = event_properties(target.message_id, target) | {"topic": target.topic}
    record_event(session, ctx, target.contact_id, event_name(target.channel, "Unsubscribed"), properties)
