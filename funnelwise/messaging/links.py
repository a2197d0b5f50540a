"""Signed links in an email: the open pixel, tracked clicks and the unsubscribe page.

A token is `<message id>.<HMAC-SHA256>` keyed by the secret key over a purpose and the message id
(and, for a click, the destination), so a token made for one purpose never works for another and a
click link redirects only to the address the message itself contained.
"""

import base64
import hashlib
import hmac
import re
from functools import lru_cache
from html import escape, unescape
from urllib.parse import quote

from funnelwise.config import Settings

OPEN = "open"
CLICK = "click"
UNSUBSCRIBE = "unsubscribe"
PURPOSES = frozenset({OPEN, CLICK, UNSUBSCRIBE})

_TOKEN = re.compile(r"(\d{1,19})\.([A-Za-z0-9_-]{43})")
# An <a> or <area> start tag, and the href inside it (double-, single- or un-quoted).
_LINK_TAG = re.compile(r"<(?:a|area)\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""((?<![\w-])href\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_TRACKABLE = re.compile(r"https?://", re.IGNORECASE)


def message_token(settings: Settings, purpose: str, message_id: int) -> str:
    """A token naming this message for this purpose only."""
    return f"{message_id}.{_signature(settings, purpose, str(message_id))}"


def message_of_token(settings: Settings, purpose: str, token: str) -> int | None:
    """The message id an open or unsubscribe token names, or None when we did not sign it for `purpose`."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    if not hmac.compare_digest(match[2], _signature(settings, purpose, match[1])):
        return None
    return int(match[1])


def click_token(settings: Settings, message_id: int, url: str) -> str:
    """A token naming this message and this destination together."""
    return f"{message_id}.{_signature(settings, CLICK, f'{message_id}:{url}')}"


def message_of_click(settings: Settings, token: str, url: str) -> int | None:
    """The message id of a click on `url`, or None when the token was not signed for that url."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    if not hmac.compare_digest(match[2], _signature(settings, CLICK, f"{match[1]}:{url}")):
        return None
    return int(match[1])


def open_pixel_url(settings: Settings, message_id: int) -> str:
    return f"{_base(settings)}/o/{message_token(settings, OPEN, message_id)}.gif"


def click_url(settings: Settings, message_id: int, url: str) -> str:
    token = click_token(settings, message_id, url)
    return f"{_base(settings)}/c/{token}?u={_quoted(url)}"


def unsubscribe_url(settings: Settings, message_id: int) -> str:
    """The preference and one-click unsubscribe page of this message's recipient."""
    return f"{_base(settings)}/u/{message_token(settings, UNSUBSCRIBE, message_id)}"


def list_unsubscribe_headers(settings: Settings, message_id: int, url: str | None = None) -> dict[str, str]:
    """RFC 2369 and RFC 8058 headers: mail clients show an unsubscribe button that POSTs to our page.

    `url` is the message's `unsubscribe_url` when the caller made it already.
    """
    return {
        "List-Unsubscribe": f"<{url or unsubscribe_url(settings, message_id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def tracked_html(settings: Settings, html: str, message_id: int) -> str:
    """The html with every http(s) link going through a signed click link, and an open pixel added.

    mailto:, tel:, anchors and our own unsubscribe links are left as they are; settings
    `email_track_clicks` and `email_track_opens` turn either part off.
    """
    if settings.email_track_clicks:
        html = _tracked_links(settings, html, message_id)
    if not settings.email_track_opens:
        return html
    pixel = (
        f'<img src="{escape(open_pixel_url(settings, message_id), quote=True)}" width="1" '
        'height="1" alt="" style="border:0;width:1px;height:1px">'
    )
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + pixel
    at = ends[-1].start()
    return html[:at] + pixel + html[at:]


def _tracked_links(settings: Settings, html: str, message_id: int) -> str:
    unsubscribe_prefix = f"{_base(settings)}/u/"

    def rewrite_href(match: re.Match[str]) -> str:
        raw = match[2]
        if raw[:1] in "\"'":
            raw = raw[1:-1]
        url = unescape(raw).strip()
        if not _TRACKABLE.match(url) or url.startswith(unsubscribe_prefix):
            return match[0]
        return f'{match[1]}"{escape(click_url(settings, message_id, url), quote=True)}"'

    def rewrite_tag(match: re.Match[str]) -> str:
        return _HREF.sub(rewrite_href, match[0], count=1)

    return _LINK_TAG.sub(rewrite_tag, html)


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def _signature(settings: Settings, purpose: str, subject: str) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}, expected one of {sorted(PURPOSES)}")
    mac = _keyed(settings.resolved_secret_key()).copy()
    mac.update(f"message-{purpose}:{subject}".encode())
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


@lru_cache(maxsize=8)
def _keyed(key: str) -> hmac.HMAC:
    """The HMAC with its key already mixed in: copying it is cheaper than keying anew per link."""
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


@lru_cache(maxsize=4096)
def _quoted(url: str) -> str:
    """A destination as a query value; a campaign's few links recur in every one of its messages."""
    return quote(url, safe="")
