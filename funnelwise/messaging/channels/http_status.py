"""How the HTTP providers turn a failed call into a `ProviderError`, and when it may be retried.

A call that never reached the provider may always be tried again. A call that reached it and got
no answer may have been taken: a provider that accepts our idempotency key is asked again with the
same key, the others raise `OutcomeUnknown`, which is never retried (never twice).
"""

import json
from typing import Any

import httpx

from funnelwise.messaging.message import ProviderError

# Statuses that say "later": a timeout, too early, too many requests; and every 5xx.
RETRY_STATUSES = frozenset({408, 425, 429})
# The request did not (completely) leave this machine: the provider cannot have taken it.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteTimeout,
    httpx.WriteError,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
_REASON_LIMIT = 500


class OutcomeUnknown(ProviderError):
    """The provider may have taken the message but did not say so; it takes no idempotency key.

    Not retryable: the sender marks such a message `unknown` rather than risk sending it twice.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retryable=False)


def retryable_status(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


def transport_error(provider: str, exc: httpx.TransportError, *, idempotent: bool) -> ProviderError:
    """The error for a call that got no HTTP answer."""
    what = f"{provider}: {type(exc).__name__}: {exc}".rstrip(": ")
    if idempotent or isinstance(exc, _NOT_SENT):
        return ProviderError(what, retryable=True)
    return OutcomeUnknown(f"{what} (the message may have been taken; not retried, to never send it twice)")


def body_json(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it has none."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def short_text(response: httpx.Response) -> str:
    """The start of the answer's body, for a reason shown on the message."""
    text = response.text.strip()
    return text if len(text) <= _REASON_LIMIT else text[:_REASON_LIMIT] + "…"
