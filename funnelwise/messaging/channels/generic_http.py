"""A configurable HTTP JSON adapter, for an SMS, push or chat gateway Funnelwise has no adapter for.

Each message is one `POST {generic_http_url}` with the configured headers and the JSON body
`{"id", "channel", "to", "subject", "text", "html", "data"}`, where `id` is our idempotency key,
also sent as `Idempotency-Key`: a gateway that deduplicates by it makes a retried send harmless,
so this provider is idempotent. A 2xx answer is acceptance; its JSON `{"id": …}`, when present,
is the gateway's id for delivery reports. 408, 425, 429 and 5xx are tried again later; any other
answer is final, with the gateway's reason.
"""

from typing import Any

import httpx

from funnelwise.config import Settings
from funnelwise.messaging.channels.http_status import body_json, retryable_status, short_text, transport_error
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError

NAME = "generic_http"
TIMEOUT_SECONDS = 15


def configured_channels(settings: Settings) -> frozenset[MessageChannel]:
    """The channels `generic_http_channels` names ("sms,push"); ValueError for an unknown one."""
    names = [part.strip().lower() for part in settings.generic_http_channels.split(",") if part.strip()]
    known = {channel.value for channel in MessageChannel}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"FUNNELWISE_GENERIC_HTTP_CHANNELS names unknown channels {', '.join(unknown)}; "
            f"the channels are {', '.join(sorted(known))}"
        )
    return frozenset(MessageChannel(name) for name in names)


class GenericHttpProvider:
    """Sends the messages of the configured channels to one HTTP endpoint as JSON."""

    name = NAME
    idempotent = True

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        if not settings.generic_http_url:
            raise ValueError("Config 'FUNNELWISE_GENERIC_HTTP_URL' is missing for the generic HTTP provider")
        self.channels = configured_channels(settings)
        self._url = settings.generic_http_url
        self._headers = dict(settings.generic_http_headers)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS)

    @staticmethod
    def is_configured(settings: Settings) -> bool:
        return bool(settings.generic_http_url and settings.generic_http_channels.strip())

    async def send(self, delivery: Delivery) -> Accepted:
        headers = self._headers | {"Idempotency-Key": delivery.idempotency_key}
        try:
            response = await self._client.post(self._url, json=payload(delivery), headers=headers)
        except httpx.TransportError as exc:
            raise transport_error("generic HTTP provider", exc, idempotent=self.idempotent) from None
        answer = body_json(response)
        if response.is_success:
            gateway_id = answer.get("id") if isinstance(answer, dict) else None
            return Accepted(provider=NAME, provider_message_id=str(gateway_id) if gateway_id else None)
        raise ProviderError(
            f"generic HTTP provider answered {response.status_code}: {_reason(response, answer)}",
            retryable=retryable_status(response.status_code),
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def payload(delivery: Delivery) -> dict[str, Any]:
    rendered = delivery.rendered
    return {
        "id": delivery.idempotency_key,
        "channel": rendered.channel.value,
        "to": rendered.to,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "data": rendered.data,
    }


def _reason(response: httpx.Response, answer: Any) -> str:
    if isinstance(answer, dict):
        for key in ("error", "message", "reason", "detail"):
            if isinstance(answer.get(key), str) and answer[key]:
                return answer[key]
    return short_text(response) or response.reason_phrase
