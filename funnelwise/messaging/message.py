"""What every part of messaging agrees on: channels, purposes, a rendered message and a provider.

A template renders into a `Rendered` message; the sender hands it to the `Provider` of its channel
as a `Delivery` and records what the provider answered. Providers never see the database.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from funnelwise.messaging.consent import Channel


class MessageChannel(StrEnum):
    """Where a message goes. Kakao AlimTalk and Kakao brand messages are distinct by law."""

    EMAIL = "email"
    SMS = "sms"
    KAKAO = "kakao"  # AlimTalk: an approved template, informational only
    KAKAO_BRAND = "kakao_brand"  # brand (friend) message: may advertise, to consenting friends
    PUSH = "push"
    WEBHOOK = "webhook"


# The consent a channel's messages are sent under; webhooks reach systems, not people.
CONSENT_CHANNEL: dict[MessageChannel, Channel | None] = {
    MessageChannel.EMAIL: Channel.EMAIL,
    MessageChannel.SMS: Channel.SMS,
    MessageChannel.KAKAO: Channel.KAKAO,
    MessageChannel.KAKAO_BRAND: Channel.KAKAO,
    MessageChannel.PUSH: Channel.PUSH,
    MessageChannel.WEBHOOK: None,
}


class Purpose(StrEnum):
    """Every message is one or the other; advertising carries the law's duties."""

    INFORMATIONAL = "informational"
    ADVERTISING = "advertising"


@dataclass(frozen=True)
class Rendered:
    """One message, ready for its provider.

    `to` is an email address, an E.164 phone number, a push token or a webhook URL. `text` is the
    email's plain-text part, the SMS or Kakao body or the push body. `data` holds what a channel
    needs beyond text: a Kakao template code and variables, buttons, push data, a webhook payload.
    """

    channel: MessageChannel
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    """A rendered message with the outbox row it came from and that row's idempotency key."""

    message_id: int
    idempotency_key: str
    rendered: Rendered


@dataclass(frozen=True)
class Accepted:
    """The provider took the message; its id lets delivery reports find the message again."""

    provider: str
    provider_message_id: str | None = None


# Templates named so are notices the system words itself (the law's, a form's double opt-in).
SYSTEM_PREFIX = "system:"


class ProviderError(Exception):
    """The provider did not take the message; `retryable` when trying again later may work.

    `address_gone` when the provider says the address itself no longer exists (the push token
    of an app that was uninstalled): the contact's address is dropped, not only this message.
    """

    def __init__(self, reason: str, *, retryable: bool, address_gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.address_gone = address_gone


class Provider(Protocol):
    """Delivers messages of one or more channels.

    `idempotent` providers accept our idempotency key, so a send whose outcome a crash left
    unknown is sent again with the same key; for the others it is marked unknown, never repeated.
    """

    name: str
    idempotent: bool

    async def send(self, delivery: Delivery) -> Accepted: ...

    async def aclose(self) -> None: ...


# How each channel names its events in the log: "Email Sent", "SMS Delivered", "KakaoTalk Failed".
EVENT_PREFIX: dict[MessageChannel, str] = {
    MessageChannel.EMAIL: "Email",
    MessageChannel.SMS: "SMS",
    MessageChannel.KAKAO: "KakaoTalk",
    MessageChannel.KAKAO_BRAND: "KakaoTalk Brand",
    MessageChannel.PUSH: "Push",
    MessageChannel.WEBHOOK: "Webhook",
}


def event_properties(message_id: int, message: Any) -> dict[str, Any]:
    """What every event about a message carries, so reports can group by any of it.

    `message` is anything with the outbox row's template, channel, workflow_id, broadcast_id and
    variant: the row itself, a claimed copy, an unsubscribe target.
    """
    return {
        "message_id": message_id,
        "template": message.template,
        "channel": str(message.channel),
        "workflow_id": message.workflow_id,
        "broadcast_id": message.broadcast_id,
        "variant": message.variant,
    }


def event_name(channel: str, what: str) -> str:
    """The log's name for something that happened to a message: `event_name("email", "Opened")`."""
    return f"{EVENT_PREFIX[MessageChannel(channel)]} {what}"
