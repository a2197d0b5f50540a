"""Signed links: what an email's HTML becomes, and which tokens are taken back."""

from urllib.parse import parse_qs, urlsplit

from funnelwise.config import Settings
from funnelwise.messaging import links

SETTINGS = Settings(secret_key="links-test-secret", public_url="https://fw.example/", _env_file=None)


def test_http_links_go_through_signed_clicks_and_a_pixel_closes_the_body() -> None:
    html = (
        '<html><body><a href="https://shop.example/p?a=1&amp;b=2">Shop</a>'
        "<a href='mailto:help@shop.example'>Mail</a> <a href=\"tel:+8210\">Call</a>"
        '<a href="#top">Top</a></body></html>'
    )

    tracked = links.tracked_html(SETTINGS, html, 42)

    click = links.click_url(SETTINGS, 42, "https://shop.example/p?a=1&b=2").replace("&", "&amp;")
    pixel = links.open_pixel_url(SETTINGS, 42)
    assert tracked == (
        f'<html><body><a href="{click}">Shop</a>'
        "<a href='mailto:help@shop.example'>Mail</a> <a href=\"tel:+8210\">Call</a>"
        f'<a href="#top">Top</a><img src="{pixel}" width="1" height="1" alt="" '
        'style="border:0;width:1px;height:1px"></body></html>'
    )
    assert pixel.startswith("https://fw.example/o/42.") and pixel.endswith(".gif")


def test_the_click_link_carries_the_destination_it_signs() -> None:
    url = links.click_url(SETTINGS, 7, "https://shop.example/sale?utm_source=email")

    parts = urlsplit(url)
    token = parts.path.removeprefix("/c/")
    (destination,) = parse_qs(parts.query)["u"]
    assert destination == "https://shop.example/sale?utm_source=email"
    assert links.message_of_click(SETTINGS, token, destination) == 7
    assert links.message_of_click(SETTINGS, token, "https://evil.example/") is None


def test_the_unsubscribe_link_is_left_alone_and_html_without_a_body_gets_the_pixel_at_the_end() -> None:
    unsubscribe = links.unsubscribe_url(SETTINGS, 3)

    tracked = links.tracked_html(SETTINGS, f'<p><a href="{unsubscribe}">Unsubscribe</a></p>', 3)

    assert tracked.startswith(
        f'<p><a href="{unsubscribe}">Unsubscribe</a></p><img src="https://fw.example/o/3.'
    )


def test_a_token_made_for_one_purpose_works_for_no_other() -> None:
    token = links.message_token(SETTINGS, links.OPEN, 9)

    assert links.message_of_token(SETTINGS, links.OPEN, token) == 9
    assert links.message_of_token(SETTINGS, links.UNSUBSCRIBE, token) is None
    assert links.message_of_click(SETTINGS, token, "") is None
    assert links.message_of_token(SETTINGS, links.OPEN, token.replace("9.", "8.", 1)) is None
    other_key = Settings(secret_key="another-secret", _env_file=None)
    assert links.message_of_token(other_key, links.OPEN, token) is None


def test_list_unsubscribe_headers_offer_one_click_unsubscribe() -> None:
    headers = links.list_unsubscribe_headers(SETTINGS, 5)

    assert headers == {
        "List-Unsubscribe": f"<{links.unsubscribe_url(SETTINGS, 5)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert headers["List-Unsubscribe"].startswith("<https://fw.example/u/5.")


def test_tracking_can_be_turned_off() -> None:
    settings = Settings(secret_key="x", email_track_opens=False, email_track_clicks=False, _env_file=None)
    html = '<body><a href="https://shop.example/">Shop</a></body>'

    assert links.tracked_html(settings, html, 1) == html
