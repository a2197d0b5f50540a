"""The `webhook` channel: a message's rendered JSON payload, POSTed to the URL its template names.

Signed and guarded exactly as a workflow's webhook step (`funnelwise.sales.webhooks`):
`Funnelwise-Signature: t=<unix time>,v1=<hex>` (HMAC-SHA256 of `<t>.<body>`) when a secret is set
(the template's `secret`, else `FUNNELWISE_WEBHOOK_CHANNEL_SECRET`), `Idempotency-Key` naming the
message, and no private, loopback or link-local address unless `FUNNELWISE_WEBHOOK_ALLOW_PRIVATE`.
The receiver deduplicates by the key, so this provider is idempotent.
"""

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx

from funnelwise.clock import Clock, SystemClock
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.messaging.channels.http_status import retryable_status
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError
from funnelwise.sales.webhooks import RefusedAddress, check_url_shape, post_json

NAME = "webhook"


class WebhookProvider:
    """Delivers `webhook` messages; the webhook step's own client does the call, in a thread."""

    name = NAME
    idempotent = True
    channels = frozenset({MessageChannel.WEBHOOK})

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self._ctx = Context(settings=settings, clock=clock or SystemClock())
        self._secret = settings.webhook_channel_secret

    async def send(self, delivery: Delivery) -> Accepted:
        rendered = delivery.rendered
        url = _usable_url(rendered.to)
        host = urlsplit(url).hostname
        payload: Any = rendered.data.get("payload", {"text": rendered.text})
        secret = rendered.data.get("secret") or self._secret
        try:
            result = await asyncio.to_thread(
                post_json,
                self._ctx,
                url,
                delivery.idempotency_key,
                payload,
                self._ctx.clock.now(),
                secret=secret,
            )
        except RefusedAddress as exc:
            raise ProviderError(str(exc), retryable=False) from None
        except httpx.HTTPError as exc:  # no answer: the retry carries the same Idempotency-Key
            raise ProviderError(
                f"webhook to {host} failed: {type(exc).__name__}: {exc}", retryable=True
            ) from None
        except ValueError as exc:  # a host name the resolver cannot take, as IDNA or otherwise
            raise ProviderError(f"webhook URL {url!r} cannot be used: {exc}", retryable=False) from None
        status = result.status
        if 200 <= status < 300:
            return Accepted(provider=NAME)
        if 300 <= status < 400:
            raise ProviderError(
                f"webhook to {host} answered {status}, a redirect; redirects are not followed",
                retryable=False,
            )
        raise ProviderError(f"webhook to {host} answered {status}", retryable=retryable_status(status))

    async def aclose(self) -> None:
        """Nothing to close: each call opens and closes its own connection to the checked address."""


def _usable_url(url: str) -> str:
    try:
        checked = check_url_shape(url)
        urlsplit(checked).port  # noqa: B018 -- reading it refuses a port out of range
    except ValueError as exc:
        raise ProviderError(f"webhook URL {url!r} cannot be used: {exc}", retryable=False) from None
    return checked
