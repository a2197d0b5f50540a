"""Signed webhooks to addresses outside this network.

The body is JSON; `Funnelwise-Signature: t=<unix time>,v1=<hex>` is HMAC-SHA256 of `<t>.<body>`
under the policy's secret, and `Idempotency-Key` names the message, so a receiver can check that
a call is ours, recent, and not one it has handled. A host that resolves to a private, loopback,
link-local or otherwise internal address is refused (a webhook must not reach into the network it
is sent from) unless `FUNNELWISE_WEBHOOK_ALLOW_PRIVATE=true`; the request then goes to the very
address that was checked.
"""

import hashlib
import hmac
import ipaddress
import json
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from funnelwise.context import Context

TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "Funnelwise-Signature"


class RefusedAddress(ValueError):
    """The webhook's host is an internal address and the settings do not allow those."""


@dataclass(frozen=True)
class WebhookResult:
    status: int


def allows_private(ctx: Context) -> bool:
    return ctx.settings.webhook_allow_private


def check_url_shape(url: str) -> str:
    """An http(s) URL with a host, or ValueError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL with a host, got {url!r}")
    return url.strip()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_signed(
    ctx: Context, url: str, secret: str, idempotency_key: str, payload: dict[str, Any], at: datetime
) -> WebhookResult:
    """POSTs the payload; raises RefusedAddress, or httpx.HTTPError when the call fails."""
    return post_json(ctx, url, idempotency_key, payload, at, secret=secret)


def post_json(
    ctx: Context,
    url: str,
    idempotency_key: str,
    payload: dict[str, Any],
    at: datetime,
    *,
    secret: str | None = None,
) -> WebhookResult:
    """`post_signed`, but without a signature header when no secret is given."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = _checked_address(host, parts.port or (443 if parts.scheme == "https" else 80), ctx)
    # The request goes to the address just checked (no second lookup an attacker could answer
    # differently); the Host header and TLS name stay the URL's own.
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    pinned = parts._replace(netloc=netloc).geturl()
    headers = {
        "Content-Type": "application/json",
        "Host": parts.netloc.rpartition("@")[2],
        "Idempotency-Key": idempotency_key,
        "User-Agent": "Funnelwise-Webhook",
    }
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret, int(at.timestamp()), body)
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        response = client.post(pinned, content=body, headers=headers, extensions={"sni_hostname": host})
    return WebhookResult(status=response.status_code)


def _checked_address(host: str, port: int, ctx: Context) -> str:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"cannot resolve {host!r}: {exc}") from exc
    addresses = [_unmapped(ipaddress.ip_address(info[4][0])) for info in found]
    if not allows_private(ctx):
        for address in addresses:
            if not address.is_global or address.is_multicast:
                raise RefusedAddress(
                    f"{host} resolves to {address}, an internal address; webhooks go only to public "
                    "addresses unless FUNNELWISE_WEBHOOK_ALLOW_PRIVATE=true"
                )
    return str(addresses[0])


def _unmapped(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """::ffff:127.0.0.1 is 127.0.0.1, and is judged as such."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
