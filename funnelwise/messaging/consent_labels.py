"""How channels and topics of consent are named to people, in Korean and in English."""

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from funnelwise.config import Settings
from funnelwise.messaging.consent import Channel
from funnelwise.messaging.message import MessageChannel

Language = Literal["ko", "en"]
NIGHT_TOPIC = "night"

_CHANNELS: dict[str, dict[Language, str]] = {
    Channel.EMAIL: {"ko": "이메일", "en": "email"},
    Channel.SMS: {"ko": "문자(SMS)", "en": "text messages (SMS)"},
    Channel.KAKAO: {"ko": "카카오톡", "en": "KakaoTalk"},
    Channel.PUSH: {"ko": "앱 푸시", "en": "push notifications"},
}
_TOPICS: dict[str, dict[Language, str]] = {
    "newsletter": {"ko": "뉴스레터", "en": "newsletter"},
    "product_news": {"ko": "제품 소식", "en": "product news"},
    "promotions": {"ko": "이벤트·할인 혜택", "en": "promotions and offers"},
    NIGHT_TOPIC: {"ko": "야간(21시~08시) 광고 수신", "en": "advertising at night (21:00-08:00)"},
}
# Where the result of a consent change or a reconfirmation notice goes, per consent channel:
# Kakao AlimTalk needs a template approved in advance, so Kakao consents are told by SMS.
NOTICE_CHANNEL: dict[str, MessageChannel] = {
    Channel.EMAIL: MessageChannel.EMAIL,
    Channel.SMS: MessageChannel.SMS,
    Channel.KAKAO: MessageChannel.SMS,
    Channel.PUSH: MessageChannel.PUSH,
}


def language_of(locale: str | None) -> Language:
    """Korean unless the contact's locale names another language (the product's market is Korea)."""
    if not locale or locale.lower().startswith("ko"):
        return "ko"
    return "en"


def channel_label(channel: str, language: Language) -> str:
    return _CHANNELS.get(channel, {}).get(language, channel)


def topic_label(settings: Settings, topic: str, language: Language) -> str:
    if topic in settings.consent_topic_labels:
        return settings.consent_topic_labels[topic]
    return _TOPICS.get(topic, {}).get(language, topic.replace("_", " "))


def is_advertising_topic(settings: Settings, topic: str) -> bool:
    """Consents of every topic but the configured informational ones are consents to advertising."""
    return topic not in settings.informational_topics


def sender_name(settings: Settings) -> str:
    """The configured sender, or the display name of the From address."""
    if settings.sender_name:
        return settings.sender_name
    display = settings.mail_from.split("<", 1)[0].strip().strip('"')
    return display or settings.mail_from


def local_date(moment: datetime, timezone: str | None, settings: Settings, language: Language) -> str:
    """A date as people read it where they live: "2026년 11월 22일", "November 22, 2026"."""
    try:
        zone = ZoneInfo(timezone) if timezone else settings.tz
    except (ZoneInfoNotFoundError, ValueError):
        zone = settings.tz
    day = moment.astimezone(zone).date()
    if language == "ko":
        return f"{day.year}년 {day.month}월 {day.day}일"
    return f"{day:%B} {day.day}, {day.year}"
