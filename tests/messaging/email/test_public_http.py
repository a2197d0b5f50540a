"""The open pixel and tracked clicks, over real HTTP against the app."""

from datetime import timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.messaging import links
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.messaging.public_http import PIXEL
from tests.factories import make_contact
from tests.messaging.email.outbox_rows import events_named, sent_email


def _path(url: str) -> str:
    """Links are built on public_url; the test server answers the same paths on its own port."""
    return url.split("://", 1)[1].split("/", 1)[1]


def test_opening_an_email_logs_email_opened_once_stamped(
    live_server: str, sessions: sessionmaker[Session], ctx: Context, clock: SimulatedClock
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, email="minsu@example.co.kr")
        message = sent_email(session, ctx, contact.id, workflow_id=None)
    pixel = "/" + _path(links.open_pixel_url(ctx.settings, message.id))

    first = httpx.get(live_server + pixel)
    clock.advance(timedelta(hours=2))
    again = httpx.get(live_server + pixel)

    assert (first.status_code, first.headers["content-type"], first.content) == (200, "image/gif", PIXEL)
    assert first.headers["cache-control"] == "no-store, no-cache, must-revalidate, private"
    assert again.status_code == 200
    with sessions() as session:
        opened = events_named(session, "Email Opened")
        stored = session.get(OutboxMessage, message.id)
        assert stored is not None
        opened_at = stored.opened_at
    expected = {
        "message_id": message.id,
        "template": "november-news",
        "channel": "email",
        "workflow_id": None,
        "broadcast_id": 7,
        "variant": "a",
    }
    assert opened == [(contact.id, expected), (contact.id, expected)]
    assert opened_at == ctx.clock.now() - timedelta(hours=2)


def test_a_click_redirects_to_the_link_and_counts_as_an_open(
    live_server: str, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx)
        message = sent_email(session, ctx, contact.id)
    destination = "https://shop.example/sale?utm_source=email&item=12"
    click = "/" + _path(links.click_url(ctx.settings, message.id, destination))

    response = httpx.get(live_server + click)

    assert response.status_code == 302
    assert response.headers["location"] == destination
    with sessions() as session:
        (clicked,) = events_named(session, "Email Clicked")
        stored = session.get(OutboxMessage, message.id)
        assert stored is not None
        assert (stored.clicked_at, stored.opened_at) == (ctx.clock.now(), ctx.clock.now())
    assert clicked == (
        contact.id,
        {
            "message_id": message.id,
            "template": "november-news",
            "channel": "email",
            "workflow_id": None,
            "broadcast_id": 7,
            "variant": "a",
            "url": destination,
        },
    )


def test_a_click_link_pointing_elsewhere_is_refused_and_redirects_nowhere(
    live_server: str, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx)
        message = sent_email(session, ctx, contact.id)
    token = links.click_token(ctx.settings, message.id, "https://shop.example/")

    tampered_url = httpx.get(f"{live_server}/c/{token}", params={"u": "https://evil.example/"})
    tampered_token = httpx.get(
        f"{live_server}/c/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}",
        params={"u": "https://shop.example/"},
    )
    open_token = links.message_token(ctx.settings, links.OPEN, message.id)
    wrong_purpose = httpx.get(f"{live_server}/c/{open_token}", params={"u": "https://shop.example/"})
    in_a_browser = httpx.get(
        f"{live_server}/c/{token}", params={"u": "https://evil.example/"}, headers={"Accept": "text/html"}
    )

    for refused in (tampered_url, tampered_token, wrong_purpose):
        assert refused.status_code == 400
        assert "location" not in refused.headers
        assert refused.json()["detail"].startswith("this link is not valid")
    assert in_a_browser.status_code == 400
    assert "<h1>Invalid link</h1>" in in_a_browser.text
    with sessions() as session:
        assert events_named(session, "Email Clicked") == []


def test_links_of_a_message_no_longer_kept_still_work(
    live_server: str, sessions: sessionmaker[Session], ctx: Context
) -> None:
    # The database is empty: message 999 was deleted since it was sent.
    destination = "https://shop.example/"

    click = httpx.get(live_server + "/" + _path(links.click_url(ctx.settings, 999, destination)))
    pixel = httpx.get(live_server + "/" + _path(links.open_pixel_url(ctx.settings, 999)))
    garbage = httpx.get(f"{live_server}/o/not-a-token.gif")

    assert (click.status_code, click.headers["location"]) == (302, destination)
    assert (pixel.status_code, pixel.content) == (200, PIXEL)
    assert (garbage.status_code, garbage.content) == (200, PIXEL)
