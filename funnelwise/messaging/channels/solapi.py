"""Solapi (Korea): SMS and LMS, Kakao AlimTalk and Kakao brand messages, through its REST API v4.

One message per call to `POST /messages/v4/send-many/detail`, authenticated by
`Authorization: HMAC-SHA256 apiKey=…, date=…, salt=…, signature=…` where the signature is the hex
HMAC-SHA256 of `date + salt` under the API secret. Solapi takes no idempotency key of ours (its
`customFields` are echoed back, not deduplicated), so this provider is not idempotent; our key
travels in `customFields` so that a delivery report can name the message even when its Solapi
id was never recorded.
"""

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

import httpx
import phonenumbers

from funnelwise.clock import Clock, SystemClock
from funnelwise.config import Settings
from funnelwise.messaging.channels.http_status import body_json, retryable_status, short_text, transport_error
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError, Rendered

NAME = "solapi"
SEND_PATH = "/messages/v4/send-many/detail"
# Korean carriers count SMS in EUC-KR bytes: 90 fit an SMS, longer is an LMS (up to 2,000).
SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
LMS_SUBJECT_MAX_BYTES = 40
# The key under which our idempotency key rides in `customFields` and comes back in reports.
KEY_FIELD = "funnelwise_key"
TIMEOUT_SECONDS = 15


def euc_kr_bytes(text: str) -> int:
    """The length carriers bill: Hangul and other EUC-KR double-byte characters count 2, ASCII 1.

    A character EUC-KR cannot write (an emoji, a rare syllable) counts 2, as the carriers' CP949
    conversion does.
    """
    total = 0
    for char in text:
        try:
            total += len(char.encode("euc-kr"))
        except UnicodeEncodeError:
            total += 2
    return total


def authorization(api_key: str, api_secret: str, now: datetime, salt: str | None = None) -> str:
    """Solapi's HMAC-SHA256 header for a request made at `now`."""
    date = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    salt = salt or secrets.token_hex(16)
    signature = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


class SolapiProvider:
    """Sends `sms`, `kakao` (AlimTalk) and `kakao_brand` messages through Solapi."""

    name = NAME
    idempotent = False
    channels = frozenset({MessageChannel.SMS, MessageChannel.KAKAO, MessageChannel.KAKAO_BRAND})

    def __init__(
        self, settings: Settings, client: httpx.AsyncClient | None = None, *, clock: Clock | None = None
    ) -> None:
        if not settings.solapi_api_key or not settings.solapi_api_secret:
            raise ValueError(
                "Config 'FUNNELWISE_SOLAPI_API_KEY' and 'FUNNELWISE_SOLAPI_API_SECRET' are needed for Solapi"
            )
        self._settings = settings
        self._key = settings.solapi_api_key
        self._secret = settings.solapi_api_secret
        self._url = settings.solapi_base_url.rstrip("/") + SEND_PATH
        self._clock = clock or SystemClock()
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS)

    @staticmethod
    def is_configured(settings: Settings) -> bool:
        return bool(settings.solapi_api_key and settings.solapi_api_secret)

    async def send(self, delivery: Delivery) -> Accepted:
        message = self.solapi_message(delivery)
        body = {"messages": [message], "showMessageList": True}
        # Signed as late as possible: Solapi refuses a date more than 15 minutes away from its own.
        headers = {"Authorization": authorization(self._key, self._secret, self._clock.now())}
        try:
            response = await self._client.post(self._url, json=body, headers=headers)
        except httpx.TransportError as exc:
            raise transport_error("Solapi", exc, idempotent=self.idempotent) from None
        return _accepted(response)

    def solapi_message(self, delivery: Delivery) -> dict[str, Any]:
        """The message object Solapi's API takes, for one delivery."""
        rendered = delivery.rendered
        message: dict[str, Any] = {
            **_recipient(rendered.to),
            "customFields": {KEY_FIELD: delivery.idempotency_key},
        }
        if self._settings.sms_from:
            message["from"] = _digits(self._settings.sms_from)
        match rendered.channel:
            case MessageChannel.SMS:
                message |= self._sms(rendered)
            case MessageChannel.KAKAO:
                message |= self._alimtalk(rendered)
            case MessageChannel.KAKAO_BRAND:
                message |= self._brand_message(rendered)
            case other:
                raise ProviderError(f"Solapi does not deliver {other} messages", retryable=False)
        return message

    def _sms(self, rendered: Rendered) -> dict[str, Any]:
        if not self._settings.sms_from:
            raise ProviderError(
                "Config 'FUNNELWISE_SMS_FROM' is missing: SMS needs the registered sender number",
                retryable=False,
            )
        size = euc_kr_bytes(rendered.text)
        if size <= SMS_MAX_BYTES:
            return {"type": "SMS", "text": rendered.text, "autoTypeDetect": False}
        if size > LMS_MAX_BYTES:
            raise ProviderError(
                f"the text is {size} bytes in EUC-KR; an LMS holds at most {LMS_MAX_BYTES}", retryable=False
            )
        lms: dict[str, Any] = {"type": "LMS", "text": rendered.text, "autoTypeDetect": False}
        if rendered.subject:
            lms["subject"] = _cut_to_bytes(rendered.subject, LMS_SUBJECT_MAX_BYTES)
        return lms

    def _alimtalk(self, rendered: Rendered) -> dict[str, Any]:
        template_code = rendered.data.get("template_code")
        if not template_code:
            raise ProviderError(
                "an AlimTalk message needs the approved template's code (data.template_code)", retryable=False
            )
        variables = _variables(rendered.data.get("variables"))
        # Solapi's own SMS substitute stays off: our fallback sends the SMS, under the SMS
        # channel's own suppression and consent checks, and never twice.
        options: dict[str, Any] = {
            "pfId": self._pf_id(),
            "templateId": str(template_code),
            "variables": variables,
            "disableSms": True,
        }
        if rendered.data.get("buttons"):
            options["buttons"] = rendered.data["buttons"]
        message: dict[str, Any] = {"type": "ATA", "kakaoOptions": options}
        # With variables Solapi fills in the approved text itself; a template without any is
        # sent with its text, which must then match the approved one.
        if not variables:
            message["text"] = rendered.text
        return message

    def _brand_message(self, rendered: Rendered) -> dict[str, Any]:
        """A Kakao brand message (BMS, which replaces FriendTalk): by template, or free-form text."""
        bms: dict[str, Any] = {"targeting": self._settings.solapi_bms_targeting}
        options: dict[str, Any] = {"pfId": self._pf_id(), "bms": bms}
        template_code = rendered.data.get("template_code")
        if template_code:
            options |= {
                "templateId": str(template_code),
                "variables": _variables(rendered.data.get("variables")),
            }
            return {"kakaoOptions": options}
        bms["chatBubbleType"] = "TEXT"
        if rendered.data.get("buttons"):
            bms["buttons"] = rendered.data["buttons"]
        return {"type": "BMS_FREE", "text": rendered.text, "kakaoOptions": options}

    def _pf_id(self) -> str:
        if not self._settings.solapi_kakao_pf_id:
            raise ProviderError(
                "Config 'FUNNELWISE_SOLAPI_KAKAO_PF_ID' is missing: Kakao messages need the channel's pfId",
                retryable=False,
            )
        return self._settings.solapi_kakao_pf_id

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _accepted(response: httpx.Response) -> Accepted:
    answer = body_json(response)
    if response.is_success:
        answer = answer if isinstance(answer, dict) else {}
        failed = answer.get("failedMessageList") or []
        if failed:
            first = failed[0]
            raise ProviderError(
                f"Solapi refused the message: {str(first.get('statusMessage', '')).strip()} "
                f"(status {first.get('statusCode')})",
                retryable=False,
            )
        # Taken; without its id (no list in the answer) reports still find it by our key.
        taken = answer.get("messageList") or [{}]
        message_id = taken[0].get("messageId")
        return Accepted(provider=NAME, provider_message_id=str(message_id) if message_id else None)
    if isinstance(answer, dict) and answer.get("errorCode"):
        reason = f"Solapi {response.status_code} {answer['errorCode']}: {answer.get('errorMessage', '')}"
    else:
        reason = f"Solapi answered {response.status_code}: {short_text(response)}"
    raise ProviderError(reason.strip(), retryable=retryable_status(response.status_code))


def _recipient(to: str) -> dict[str, str]:
    """Solapi takes Korean numbers in their domestic form, others as national number and country."""
    try:
        number = phonenumbers.parse(to, "KR")
    except phonenumbers.NumberParseException as exc:
        raise ProviderError(f"{to!r} is not a phone number: {exc}", retryable=False) from None
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if number.country_code == 82:
        return {"to": _digits(national)}
    return {"to": str(number.national_number), "country": str(number.country_code)}


def _variables(given: Any) -> dict[str, str]:
    """Kakao template variables as Solapi wants them: `#{name}` keys, string values."""
    if not given:
        return {}
    if not isinstance(given, dict):
        raise ProviderError("Kakao template variables (data.variables) must be an object", retryable=False)
    return {
        (key if key.startswith("#{") else f"#{{{key}}}"): "" if value is None else str(value)
        for key, value in given.items()
    }


def _digits(number: str) -> str:
    return "".join(char for char in number if char.isdigit())


def _cut_to_bytes(text: str, limit: int) -> str:
    while euc_kr_bytes(text) > limit:
        text = text[:-1]
    return text
