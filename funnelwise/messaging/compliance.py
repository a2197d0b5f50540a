"""The Korean advertising-message law (정보통신망법 제50조) as applied to each message.

Advertising gets "(광고)" at its start, the sender's name and contact and a free way to opt out;
advertising by SMS, Kakao or push waits out the night (21:00-08:00 where the recipient lives)
unless they consented to it separately. The notices the law asks the sender to send (two-yearly
reconfirmation, the result of an opt-in or opt-out) are rendered here too.
"""

from dataclasses import replace
from datetime import datetime, time, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from funnelwise.config import Settings
from funnelwise.messaging.consent_labels import (
    Language,
    channel_label,
    language_of,
    local_date,
    sender_name,
    topic_label,
)
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.templates.render import RenderedContent, RenderError

AD_MARK = "(광고)"
NIGHT_STARTS = time(21)
NIGHT_ENDS = time(8)
RECONFIRMATION = "consent-reconfirmation"
RESULT = "consent-result"
# The double opt-in mail of a hosted form, worded by the form in its language when it is queued.
EMAIL_CONFIRMATION = "email-confirmation"
SYSTEM_NOTICES = frozenset({RECONFIRMATION, RESULT, EMAIL_CONFIRMATION})
_FOOTER_CLASS = "fw-ad-footer"


class ComplianceError(Exception):
    """An advertising message the law does not let us send as configured; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def apply_advertising_rules(
    content: RenderedContent, channel: MessageChannel, settings: Settings, *, unsubscribe_url: str | None
) -> RenderedContent:
    """The advertising message with the law's additions; raises ComplianceError when it cannot be lawful.

    Nothing is added twice: a subject or text that starts with "(광고)" keeps its own mark.
    """
    channel = MessageChannel(channel)
    if channel is MessageChannel.WEBHOOK:
        return content  # A webhook reaches a system, not a person.
    if channel is MessageChannel.KAKAO:
        raise ComplianceError(
            "KakaoTalk AlimTalk carries informational messages only; send advertising as kakao_brand"
        )
    name, contact = _sender(settings)
    if channel is MessageChannel.EMAIL:
        if not unsubscribe_url:
            raise ComplianceError("advertising email needs an unsubscribe link; none was given")
        return _email(content, name, contact, unsubscribe_url)
    if channel is MessageChannel.SMS:
        if not settings.sms_optout_number:
            raise ComplianceError(
                "advertising SMS must carry a free opt-out number: set FUNNELWISE_SMS_OPTOUT_NUMBER "
                "(for example 080-123-4567)"
            )
        return _short(content, name, contact, f"무료수신거부 {settings.sms_optout_number}")
    if channel is MessageChannel.KAKAO_BRAND:
        optout = f"수신거부: {settings.kakao_optout_instruction}"
        if settings.sms_optout_number:
            optout += f" / 무료수신거부 {settings.sms_optout_number}"
        return _short(content, name, contact, optout)
    return _push(content, name, f"수신거부: {settings.push_optout_instruction}")


def night_hold_until(now: datetime, tz: ZoneInfo) -> datetime | None:
    """The next 08:00 where the recipient lives when it is 21:00-08:00 there now, else None.

    The answer is in `now`'s timezone.
    """
    local = now.astimezone(tz)
    if NIGHT_ENDS <= local.time() < NIGHT_STARTS:
        return None
    day = local.date() if local.time() < NIGHT_ENDS else local.date() + timedelta(days=1)
    return datetime.combine(day, NIGHT_ENDS, tzinfo=tz).astimezone(now.tzinfo)


def is_marked(text: str | None) -> bool:
    return bool(text) and text.lstrip().startswith(AD_MARK)  # type: ignore[union-attr]


def _sender(settings: Settings) -> tuple[str, str]:
    missing = [
        f"FUNNELWISE_{name.upper()}"
        for name in ("sender_name", "sender_contact")
        if not getattr(settings, name)
    ]
    if missing:
        raise ComplianceError(
            f"advertising must name its sender and how to reach them: set {' and '.join(missing)}"
        )
    return settings.sender_name, settings.sender_contact  # type: ignore[return-value]


def _email(content: RenderedContent, name: str, contact: str, url: str) -> RenderedContent:
    subject = content.subject or name
    subject = subject if is_marked(subject) else f"{AD_MARK} {subject}"
    footer = (
        f"\n\n--\n발신자: {name} · 연락처: {contact}\n"
        f"수신을 원하지 않으시면 무료로 수신거부하실 수 있습니다: {url}\n"
        f"To stop receiving these emails, unsubscribe free of charge: {url}\n"
    )
    text = content.text if footer in content.text else content.text.rstrip("\n") + footer
    html = content.html
    if html is not None and _FOOTER_CLASS not in html:
        html = _before_body_end(html, _html_footer(name, contact, url))
    return replace(content, subject=subject, text=text, html=html)


def _html_footer(name: str, contact: str, url: str) -> str:
    link = escape(url, quote=True)
    return (
        f'<div class="{_FOOTER_CLASS}" style="margin-top:24px;padding-top:12px;border-top:1px solid #d0d7de;'
        'font-size:12px;line-height:1.5;color:#57606a">'
        f"<p>발신자: {escape(name)} · 연락처: {escape(contact)}</p>"
        f'<p>수신을 원하지 않으시면 <a href="{link}">여기</a>에서 무료로 수신거부하실 수 있습니다.<br>'
        f'To stop receiving these emails, <a href="{link}">unsubscribe</a> free of charge.</p></div>'
    )


def _before_body_end(html: str, addition: str) -> str:
    at = html.lower().rfind("</body")
    return html + addition if at < 0 else html[:at] + addition + html[at:]


def _short(content: RenderedContent, name: str, contact: str, optout: str) -> RenderedContent:
    """SMS and Kakao brand text: "(광고)" and the sender first, contact and opt-out last."""
    text = content.text
    if not is_marked(text):
        text = f"{AD_MARK} {name}\n{text}"
    tail = [line for line in (contact, optout) if line not in text]
    if tail:
        text = text.rstrip("\n") + "\n" + "\n".join(tail)
    return replace(content, text=text)


def _push(content: RenderedContent, name: str, optout: str) -> RenderedContent:
    """A push's title (or text, without one) is marked; the sender and opt-out close the text."""
    data = dict(content.data)
    title = data.get("title")
    text = content.text
    if isinstance(title, str) and title:
        if not is_marked(title):
            data["title"] = f"{AD_MARK} {title}"
    elif not is_marked(text):
        text = f"{AD_MARK} {text}"
    closing = f"{name} · {optout}"
    if closing not in text:
        text = f"{text.rstrip()}\n{closing}"
    return replace(content, text=text, data=data)


# --- system notices --------------------------------------------------------------------------


def render_system_notice(
    kind: str,
    *,
    contact: dict[str, Any],
    variables: dict[str, Any],
    channel: MessageChannel,
    settings: Settings,
    unsubscribe_url: str | None = None,
) -> RenderedContent:
    """An outbox row's `system:<kind>` message, in Korean, or English for other locales.

    `consent-reconfirmation` variables: consent_channel, topic, consented_at (ISO), version.
    `consent-result` variables: consent_channel, topics (or topic), status (granted|revoked), at (ISO).
    `email-confirmation` variables: subject, text (with the confirmation link); email only.
    Raises RenderError for an unknown kind or missing variables.
    """
    if kind not in SYSTEM_NOTICES:
        raise RenderError(f"unknown system notice {kind!r}, expected one of {sorted(SYSTEM_NOTICES)}")
    if kind == EMAIL_CONFIRMATION:
        return _confirmation(variables, MessageChannel(channel))
    language = language_of(contact.get("locale"))
    try:
        facts = _Facts(settings, contact, variables, language)
        subject, paragraphs = (_reconfirmation if kind == RECONFIRMATION else _result)(facts)
    except (KeyError, ValueError) as exc:
        raise RenderError(f"system notice {kind!r} is missing or has a bad variable: {exc}") from None
    channel = MessageChannel(channel)
    if kind == RECONFIRMATION or facts.status == "granted":
        paragraphs.append(_optout(settings, channel, language, unsubscribe_url))
    paragraphs.append(facts.signature)
    text = "\n\n".join(paragraphs)
    if channel is MessageChannel.EMAIL:
        html = "".join(f"<p>{_linked(escape(p), unsubscribe_url)}</p>" for p in paragraphs)
        return RenderedContent(subject=subject, text=text, html=f"<html><body>{html}</body></html>")
    if channel is MessageChannel.PUSH:
        return RenderedContent(subject=None, text=text, html=None, data={"title": subject})
    return RenderedContent(subject=None, text=f"[{facts.sender}] {text}", html=None)


def _confirmation(variables: dict[str, Any], channel: MessageChannel) -> RenderedContent:
    subject, text = variables.get("subject"), variables.get("text")
    if channel is not MessageChannel.EMAIL or not isinstance(subject, str) or not isinstance(text, str):
        raise RenderError("an email confirmation needs the email channel and its subject and text")
    link = variables.get("link")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    html = "".join(
        f"<p>{_linked(escape(p), link if isinstance(link, str) else None)}</p>" for p in paragraphs
    )
    return RenderedContent(subject=subject, text=text, html=f"<html><body>{html}</body></html>")


class _Facts:
    """What a notice says, worded for the contact."""

    def __init__(
        self, settings: Settings, contact: dict[str, Any], variables: dict[str, Any], language: Language
    ) -> None:
        self.language = language
        self.sender = sender_name(settings)
        self.channel = channel_label(variables["consent_channel"], language)
        topics = variables.get("topics") or [variables["topic"]]
        self.topic = ", ".join(topic_label(settings, topic, language) for topic in topics)
        self.version = variables.get("version")
        self.status = variables.get("status")
        moment = variables.get("consented_at") or variables["at"]
        self.date = local_date(datetime.fromisoformat(moment), contact.get("timezone"), settings, language)
        where = f" ({settings.sender_contact})" if settings.sender_contact else ""
        self.signature = (
            f"발신자: {self.sender}{where}" if language == "ko" else f"Sender: {self.sender}{where}"
        )


def _reconfirmation(facts: _Facts) -> tuple[str, list[str]]:
    version = f" (동의 문구 버전 {facts.version})" if facts.version else ""
    if facts.language == "ko":
        return f"[{facts.sender}] 광고성 정보 수신동의 확인 안내", [
            f"안녕하세요, {facts.sender}입니다. 고객님께서는 {facts.date}에 {facts.channel}(으)로 "
            f"'{facts.topic}' 광고성 정보를 받는 데 동의하셨습니다{version}.",
            "정보통신망법에 따라 2년마다 수신동의 여부를 확인해 드립니다. 계속 받으시려면 하실 일은 "
            "없으며, 수신동의는 그대로 유지됩니다.",
        ]
    version = f" (wording version {facts.version})" if facts.version else ""
    return f"[{facts.sender}] Please confirm your consent to our messages", [
        f"Hello from {facts.sender}. On {facts.date} you agreed to receive '{facts.topic}' advertising "
        f"by {facts.channel}{version}.",
        "Korean law asks us to remind you of this every two years. To keep receiving them, you need do "
        "nothing: your consent stays as it is.",
    ]


def _result(facts: _Facts) -> tuple[str, list[str]]:
    granted = facts.status == "granted"
    if facts.status not in ("granted", "revoked"):
        raise ValueError(f"status {facts.status!r}")
    if facts.language == "ko":
        what = "수신동의" if granted else "수신거부"
        return f"[{facts.sender}] 광고성 정보 {what} 처리 결과 안내", [
            f"안녕하세요, {facts.sender}입니다. 요청하신 {facts.channel} '{facts.topic}' 광고성 정보 "
            f"{what}가 {facts.date}에 처리되었습니다.",
            f"전송자: {facts.sender} · 처리 일자: {facts.date} · 처리 결과: {what}",
        ]
    what = "opted in to" if granted else "opted out of"
    result = "subscribed" if granted else "unsubscribed"
    return f"[{facts.sender}] Your subscription choice was recorded", [
        f"Hello from {facts.sender}. On {facts.date} you {what} '{facts.topic}' advertising by {facts.channel}.",
        f"Sender: {facts.sender} · Date: {facts.date} · Result: {result}",
    ]


def _optout(settings: Settings, channel: MessageChannel, language: Language, url: str | None) -> str:
    if channel is MessageChannel.EMAIL and url:
        how = url
    elif channel in (MessageChannel.SMS, MessageChannel.KAKAO_BRAND) and settings.sms_optout_number:
        how = f"무료수신거부 {settings.sms_optout_number}"
    elif channel is MessageChannel.PUSH:
        how = settings.push_optout_instruction
    else:
        how = settings.sender_contact or sender_name(settings)
    if language == "ko":
        return f"수신을 원하지 않으시면 언제든 무료로 거부하실 수 있습니다: {how}"
    return f"You can opt out at any time, free of charge: {how}"


def _linked(paragraph: str, url: str | None) -> str:
    if not url:
        return paragraph
    escaped = escape(url)
    return paragraph.replace(escaped, f'<a href="{escape(url, quote=True)}">{escaped}</a>')
