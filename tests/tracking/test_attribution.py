"""Where visitors came from: the channel each referrer and UTM tag implies, and which visits are touches."""

from datetime import UTC, datetime
from typing import Any

import pytest

from funnelwise.tracking.attribution import Channel, classify, earlier, later, touch_from

AT = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
LANDING = "https://acme.co.kr/pricing"


def page(url: str | None = LANDING, referrer: str | None = None, **campaign: str) -> dict[str, Any]:
    context: dict[str, Any] = {"page": {"url": url, "referrer": referrer}}
    if campaign:
        context["campaign"] = campaign
    return context


@pytest.mark.parametrize(
    ("referrer", "channel"),
    [
        ("https://search.naver.com/search.naver?query=crm", Channel.ORGANIC_SEARCH),
        ("https://m.search.naver.com/search.naver?query=crm", Channel.ORGANIC_SEARCH),
        ("https://blog.naver.com/marketer/223", Channel.SOCIAL),
        ("https://m.blog.naver.com/marketer/223", Channel.SOCIAL),
        ("https://cafe.naver.com/growth", Channel.SOCIAL),
        ("https://mail.naver.com/", Channel.EMAIL),
        ("https://search.daum.net/search?q=crm", Channel.ORGANIC_SEARCH),
        ("https://m.search.daum.net/search?q=crm", Channel.ORGANIC_SEARCH),
        ("https://cafe.daum.net/growth", Channel.SOCIAL),
        ("https://mail.daum.net/", Channel.EMAIL),
        ("https://story.kakao.com/acme", Channel.SOCIAL),
        ("https://pf.kakao.com/_xabc", Channel.SOCIAL),
        ("https://www.google.com/", Channel.ORGANIC_SEARCH),
        ("https://www.google.co.kr/", Channel.ORGANIC_SEARCH),
        ("https://www.google.co.jp/", Channel.ORGANIC_SEARCH),
        ("https://mail.google.com/mail/u/0", Channel.EMAIL),
        ("https://www.bing.com/search?q=crm", Channel.ORGANIC_SEARCH),
        ("https://l.facebook.com/l.php", Channel.SOCIAL),
        ("https://t.co/abc", Channel.SOCIAL),
        ("https://partner.example.com/review", Channel.REFERRAL),
    ],
)
def test_a_referrer_names_its_channel(referrer: str, channel: Channel) -> None:
    assert classify(None, None, referrer) is channel


@pytest.mark.parametrize(
    ("source", "medium", "channel"),
    [
        ("naver", "cpc", Channel.PAID_SEARCH),
        ("google", "PPC", Channel.PAID_SEARCH),
        ("naver", "powerlink", Channel.PAID_SEARCH),
        ("newsletter", "email", Channel.EMAIL),
        ("kakao", "social", Channel.SOCIAL),
        ("naver", "organic", Channel.ORGANIC_SEARCH),
        ("partner", "affiliate", Channel.REFERRAL),
        ("kakao", None, Channel.SOCIAL),
        ("naver", None, Channel.ORGANIC_SEARCH),
        ("daum", None, Channel.ORGANIC_SEARCH),
        ("band", None, Channel.SOCIAL),
        ("unknown-thing", None, Channel.DIRECT),
    ],
)
def test_the_utm_medium_decides_first_then_the_source(
    source: str, medium: str | None, channel: Channel
) -> None:
    assert classify(source, medium, None) is channel


def test_a_landing_with_utm_tags_records_them_all_with_the_channel() -> None:
    url = f"{LANDING}?utm_source=naver&utm_medium=cpc&utm_campaign=winter&utm_term=crm&utm_content=ad1"

    touch = touch_from(page(url, "https://search.naver.com/search.naver?query=crm"), {}, AT)

    assert touch == {
        "utm_source": "naver",
        "utm_medium": "cpc",
        "utm_campaign": "winter",
        "utm_term": "crm",
        "utm_content": "ad1",
        "referrer": "https://search.naver.com/search.naver?query=crm",
        "landing_page": url,
        "channel": "paid_search",
        "at": "2026-11-22T01:00:00+00:00",
    }


def test_the_context_campaign_wins_over_the_urls_tags() -> None:
    touch = touch_from(page(f"{LANDING}?utm_source=naver", None, source="kakao", medium="social"), {}, AT)

    assert touch is not None
    assert (touch["utm_source"], touch["utm_medium"], touch["channel"]) == ("kakao", "social", "social")


@pytest.mark.parametrize("click_id", ["gclid=abc", "n_media=27758&n_query=crm", "msclkid=x"])
def test_an_ad_click_id_without_a_medium_is_paid_search(click_id: str) -> None:
    touch = touch_from(page(f"{LANDING}?{click_id}", "https://search.naver.com/"), {}, AT)

    assert touch is not None
    assert touch["channel"] == "paid_search"


def test_moving_between_pages_of_the_same_site_is_not_a_touch() -> None:
    assert touch_from(page(LANDING, "https://www.acme.co.kr/"), {}, AT) is None


def test_a_tagged_link_inside_the_site_is_a_touch() -> None:
    touch = touch_from(
        page(f"{LANDING}?utm_source=banner&utm_medium=referral", "https://acme.co.kr/"), {}, AT
    )

    assert touch is not None
    assert touch["channel"] == "referral"


def test_a_landing_without_a_referrer_is_direct() -> None:
    touch = touch_from(page(LANDING, None), {}, AT)

    assert touch is not None
    assert (touch["channel"], touch["landing_page"], touch["referrer"]) == ("direct", LANDING, None)


def test_a_page_call_without_url_referrer_or_campaign_is_not_a_touch() -> None:
    assert touch_from({}, {"title": "Home"}, AT) is None


def test_the_page_properties_url_and_referrer_count_as_the_contexts() -> None:
    touch = touch_from({}, {"url": LANDING, "referrer": "https://search.daum.net/search?q=crm"}, AT)

    assert touch is not None
    assert touch["channel"] == "organic_search"


def test_a_malformed_url_is_still_a_touch_without_its_query() -> None:
    touch = touch_from(page("https://[acme.co.kr/?utm_source=naver", "https://search.naver.com/"), {}, AT)

    assert touch is not None
    assert (touch["utm_source"], touch["channel"]) == (None, "organic_search")


def test_earlier_keeps_the_first_touch_and_later_the_last() -> None:
    monday = {"channel": "organic_search", "at": "2026-11-16T01:00:00+00:00"}
    friday = {"channel": "email", "at": "2026-11-20T01:00:00+00:00"}

    assert earlier(friday, monday) is monday
    assert earlier(None, friday) is friday
    assert later(monday, friday) is friday
    assert later(friday, None) is friday
