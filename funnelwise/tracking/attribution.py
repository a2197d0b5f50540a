"""Where a visitor came from: UTM parameters, referrer and landing page, and the channel they imply."""

from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

UTM_KEYS = ("source", "medium", "campaign", "term", "content")


class Channel(StrEnum):
    ORGANIC_SEARCH = "organic_search"
    PAID_SEARCH = "paid_search"
    SOCIAL = "social"
    EMAIL = "email"
    REFERRAL = "referral"
    DIRECT = "direct"


# Hosts matched by their registrable suffix; Korean portals first, since naver.com and daum.net
# serve search, mail, blogs and cafés from one domain and only the subdomain tells them apart.
_EMAIL_HOSTS = ("mail.naver.com", "mail.daum.net", "mail.google.com", "outlook.live.com", "mail.yahoo.com")
_SOCIAL_HOSTS = (
    "blog.naver.com", "cafe.naver.com", "band.us", "story.kakao.com", "pf.kakao.com", "kakao.com",
    "kakaotalk.com", "cafe.daum.net", "brunch.co.kr", "tistory.com", "facebook.com", "instagram.com",
    "twitter.com", "x.com", "t.co", "linkedin.com", "lnkd.in", "youtube.com", "youtu.be", "threads.net",
    "tiktok.com", "pinterest.com", "reddit.com",
)  # fmt: skip
_SEARCH_HOSTS = (
    "search.naver.com", "m.search.naver.com", "naver.com", "search.daum.net", "daum.net", "google.com",
    "google.co.kr", "bing.com", "search.yahoo.com", "yahoo.co.jp", "duckduckgo.com", "baidu.com",
    "zum.com", "search.zum.com", "nate.com", "yandex.ru", "ecosia.org",
)  # fmt: skip
_PAID_MEDIUMS = frozenset({"cpc", "ppc", "paid", "paidsearch", "paid_search", "sa", "search_ad", "powerlink"})
_SOCIAL_MEDIUMS = frozenset({"social", "social-network", "social_media", "sns", "paid_social", "paidsocial"})
_EMAIL_MEDIUMS = frozenset({"email", "e-mail", "newsletter", "mail", "edm"})
_REFERRAL_MEDIUMS = frozenset({"referral", "affiliate", "partner"})
# Click ids that ad networks append: Google, Microsoft, Naver search ads, Kakao ads.
_PAID_CLICK_IDS = ("gclid", "msclkid", "n_media", "n_query", "napm", "kclid")


def touch_from(context: dict[str, Any], properties: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    """The touch a page view records, or None for a move between pages of the same site."""
    page = context.get("page") if isinstance(context.get("page"), dict) else {}
    url = _text(properties.get("url")) or _text(page.get("url"))
    referrer = _text(properties.get("referrer")) or _text(page.get("referrer"))
    campaign = context.get("campaign") if isinstance(context.get("campaign"), dict) else {}
    utm = {key: _text(campaign.get(key)) for key in UTM_KEYS}
    # The Segment spec and analytics.js name the campaign `name`; some senders say `campaign`.
    utm["campaign"] = _text(campaign.get("name")) or utm["campaign"]
    query = _query(url) if url else {}
    for key in UTM_KEYS:
        utm[key] = utm[key] or _first(query, f"utm_{key}")
    if not (url or referrer or any(utm.values())):
        return None  # a server-side page call that says nothing about where the visitor came from
    if referrer and url and _host(referrer) == _host(url) and not any(utm.values()):
        return None
    click_ids = [key for key in _PAID_CLICK_IDS if _first(query, key)]
    return {
        **{f"utm_{key}": value for key, value in utm.items()},
        "referrer": referrer,
        "landing_page": url,
        "channel": classify(utm["source"], utm["medium"], referrer, bool(click_ids)).value,
        "at": at.isoformat(),
    }


def classify(
    source: str | None, medium: str | None, referrer: str | None, paid_click: bool = False
) -> Channel:
    """The channel: UTM medium first, then ad click ids, then what the referrer is."""
    medium = (medium or "").strip().lower()
    if medium in _PAID_MEDIUMS or (paid_click and not medium):
        return Channel.PAID_SEARCH
    if medium in _EMAIL_MEDIUMS:
        return Channel.EMAIL
    if medium in _SOCIAL_MEDIUMS:
        return Channel.SOCIAL
    if medium == "organic":
        return Channel.ORGANIC_SEARCH
    if medium in _REFERRAL_MEDIUMS:
        return Channel.REFERRAL
    host = _host(referrer) if referrer else _host_of_source(source)
    if not host:
        return Channel.DIRECT
    if _matches(host, _EMAIL_HOSTS):
        return Channel.EMAIL
    if _matches(host, _SOCIAL_HOSTS):
        return Channel.SOCIAL
    if _matches(host, _SEARCH_HOSTS) or host.split(".")[0] == "google":
        return Channel.ORGANIC_SEARCH
    return Channel.REFERRAL


def earlier(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    """Of two touches, the one that happened first (either may be missing)."""
    if first is None or second is None:
        return first or second
    return first if first["at"] <= second["at"] else second


def later(first: dict[str, Any] | None, second: dict[str, Any] | None) -> dict[str, Any] | None:
    if first is None or second is None:
        return first or second
    return second if second["at"] >= first["at"] else first


def _matches(host: str, known: tuple[str, ...]) -> bool:
    return any(host == name or host.endswith("." + name) for name in known)


def _host(url: str) -> str:
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.").removeprefix("m.") if host.count(".") > 1 else host.removeprefix("www.")


def _host_of_source(source: str | None) -> str:
    """utm_source=naver with no referrer still says where the visitor came from."""
    if not source:
        return ""
    name = source.strip().lower()
    return name if "." in name else _SOURCE_HOSTS.get(name, "")


_SOURCE_HOSTS = {
    "naver": "naver.com", "daum": "daum.net", "kakao": "kakao.com", "kakaotalk": "kakaotalk.com",
    "google": "google.com", "bing": "bing.com", "facebook": "facebook.com", "instagram": "instagram.com",
    "youtube": "youtube.com", "band": "band.us",
}  # fmt: skip


def _query(url: str) -> dict[str, list[str]]:
    try:
        return parse_qs(urlsplit(url).query)
    except ValueError:  # a malformed URL, such as an unclosed IPv6 bracket
        return {}


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key) or query.get(key.upper())
    return values[0] if values else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
