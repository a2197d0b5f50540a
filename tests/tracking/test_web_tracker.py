"""The web tracker in a real browser: a website on its own origin loads /js/fw.js from the live server."""

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.contacts.models import Contact
from funnelwise.tracking.models import AnonymousProfile, Event
from funnelwise.tracking.timeline import timeline

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NAVER_SEARCH = "https://search.naver.com/search.naver?query=crm"
PRICING = "/pricing?utm_source=naver&utm_medium=cpc&utm_campaign=winter"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# The browser's clock, when a test drives it (it is paused there: only run_for moves it).
BROWSER_TIME = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
T = TypeVar("T")

Resolve = Callable[[], int]


# ----- the website: a few pages on a second origin, carrying the tracker's snippet -----


@dataclass
class Site:
    origin: str
    partner: str  # another host (localhost rather than 127.0.0.1): a link there is outbound

    def url(self, path: str) -> str:
        return self.origin + path


def _pages(partner: str) -> dict[str, tuple[str, str, str]]:
    """path -> (title, body, extra attributes of the script tag)."""
    pricing_body = f"""
        <h1>Plans and prices</h1>
        <p><a id="brochure" href="/files/brochure.pdf">Download the brochure</a></p>
        <p><a id="partner" href="{partner}">Our implementation partner</a></p>
        <script>fw.push(["track", "Pricing Table Shown", {{"plans": 3}}]);</script>
    """
    return {
        "/pricing": ("Pricing | Acme", pricing_body, ""),
        "/guide": ("Buyer's guide | Acme", '<main style="height: 6000px">A long guide</main>', ""),
        "/welcome": ("Welcome | Acme", "<h1>Welcome</h1>", ' data-require-consent="true"'),
    }


def _page_html(title: str, body: str, attributes: str, tracker: str, write_key: str) -> bytes:
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<script>window.fw = window.fw || [];</script>
<script src="{tracker}" data-write-key="{write_key}"{attributes} async></script>
</head><body style="margin: 0">{body}</body></html>""".encode()


class _SiteHandler(BaseHTTPRequestHandler):
    server: "_SiteServer"

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        if path == "/files/brochure.pdf":
            self._answer(b"%PDF-1.4\n%%EOF\n", "application/pdf", attachment="brochure.pdf")
        elif path in self.server.pages:
            self._answer(self.server.pages[path], "text/html; charset=utf-8")
        elif path == "/partner":
            self._answer(b"<!doctype html><title>Partner</title><p>Another site</p>", "text/html")
        else:
            self.send_error(404)

    def _answer(self, body: bytes, content_type: str, attachment: str | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if attachment:
            self.send_header("Content-Disposition", f'attachment; filename="{attachment}"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests say what they expect."""


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    pages: dict[str, bytes]


@pytest.fixture
def site(live_server: str, write_key: str) -> Iterator[Site]:
    server = _SiteServer(("127.0.0.1", 0), _SiteHandler)
    port = server.server_address[1]
    site = Site(origin=f"http://127.0.0.1:{port}", partner=f"http://localhost:{port}/partner")
    tracker = f"{live_server}/js/fw.js"
    server.pages = {
        path: _page_html(title, body, attributes, tracker, write_key)
        for path, (title, body, attributes) in _pages(site.partner).items()
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium')"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser tests")
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh visitor: no cookies, no storage; a Korean browser in Seoul."""
    context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul")
    yield context.new_page()
    context.close()


# ----- reading what was stored -----


def _eventually(probe: Callable[[], T | None], what: str, timeout: float = 10) -> T:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.05)
    return found


def _events(sessions: sessionmaker[Session], resolve: Resolve, name: str | None = None) -> list[Event]:
    """The events the browser's calls made, once the worker has logged them."""
    resolve()
    query = select(Event).order_by(Event.id)
    if name is not None:
        query = query.where(Event.name == name)
    with sessions() as session:
        return list(session.scalars(query))


def _wait_events(sessions: sessionmaker[Session], resolve: Resolve, name: str, count: int = 1) -> list[Event]:
    def probe() -> list[Event] | None:
        found = _events(sessions, resolve, name)
        return found if len(found) >= count else None

    return _eventually(probe, f"{count} {name!r} event(s)")


def _anonymous_id(page: Page) -> str | None:
    cookies = {c["name"]: c for c in page.context.cookies()}
    return cookies["fw_aid"]["value"] if "fw_aid" in cookies else None


def _set_visibility(page: Page, state: str) -> None:
    """What switching tabs does to the page: visibilityState changes and visibilitychange fires."""
    page.evaluate(
        """(state) => {
            Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def _pause_clock(page: Page) -> None:
    """The browser's time stands still until the test moves it with run_for."""
    page.clock.install(time=BROWSER_TIME)
    page.clock.pause_at(BROWSER_TIME + timedelta(seconds=1))


# ----- the stories -----


def test_the_script_is_served_as_javascript_and_revalidated_by_its_etag(live_server: str) -> None:
    with httpx.Client(base_url=live_server) as client:
        first = client.get("/js/fw.js")
        again = client.get("/js/fw.js", headers={"If-None-Match": first.headers["etag"]})

    assert first.status_code == 200
    assert first.headers["content-type"] == "application/javascript; charset=utf-8"
    assert first.headers["cache-control"] == "public, max-age=300"
    assert "window.fw" in first.text
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_a_visitor_from_a_naver_ad_views_the_pricing_page(
    page: Page, site: Site, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    page.goto(site.url(PRICING), referer=NAVER_SEARCH)

    [viewed] = _wait_events(sessions, resolve, "Page Viewed")
    anonymous_id = _anonymous_id(page)
    assert anonymous_id is not None and UUID4.match(anonymous_id)
    assert (viewed.type, viewed.anonymous_id, viewed.contact_id) == ("page", anonymous_id, None)
    shown = {
        "url": site.url(PRICING),
        "path": "/pricing",
        "referrer": NAVER_SEARCH,
        "title": "Pricing | Acme",
        "search": "?utm_source=naver&utm_medium=cpc&utm_campaign=winter",
    }
    assert viewed.properties == shown
    assert viewed.context["page"] == shown
    assert viewed.context["campaign"] == {"source": "naver", "medium": "cpc", "name": "winter"}
    assert viewed.context["library"] == {"name": "funnelwise.js", "version": "0.1.0"}
    assert (viewed.context["locale"], viewed.context["timezone"]) == ("ko-KR", "Asia/Seoul")
    assert viewed.context["userAgent"] == page.evaluate("navigator.userAgent")

    with sessions() as session:
        profile = session.scalars(select(AnonymousProfile)).one()
    assert profile.anonymous_id == anonymous_id
    assert profile.first_touch is not None
    assert (profile.first_touch["channel"], profile.first_touch["utm_campaign"]) == ("paid_search", "winter")

    [cookie] = page.context.cookies()
    assert (cookie["path"], cookie["sameSite"]) == ("/", "Lax")
    # The tracker asks for two years; Chromium keeps no cookie longer than 400 days (RFC 6265bis).
    assert abs(cookie["expires"] - (time.time() + 400 * 86400)) < 3600

    # A call the page queued before the script loaded is sent too, by the same visitor.
    [queued] = _wait_events(sessions, resolve, "Pricing Table Shown")
    assert (queued.anonymous_id, queued.properties) == (anonymous_id, {"plans": 3})


def test_dwell_time_counts_only_the_seconds_the_page_is_visible(
    page: Page, site: Site, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    _pause_clock(page)
    page.goto(site.url(PRICING))

    page.clock.run_for(65_000)
    _set_visibility(page, "hidden")  # the visitor switches to another tab for two minutes
    page.clock.run_for(120_000)
    _set_visibility(page, "visible")
    page.clock.run_for(50_000)  # visible for 115 s in all: no 120 s mark yet
    page.evaluate('fw.track("Checkpoint")')
    page.clock.run_for(1_000)

    _wait_events(sessions, resolve, "Checkpoint")
    # Each mark went in its own batch; batches may be stored in any order.
    engaged = sorted(_events(sessions, resolve, "Page Engaged"), key=lambda e: e.properties["seconds"])
    assert [e.properties["seconds"] for e in engaged] == [15, 30, 60]
    assert engaged[0].properties == {
        "seconds": 15,
        "url": site.url(PRICING),
        "path": "/pricing",
        "title": "Pricing | Acme",
        "max_scroll_percent": 100,  # the whole page fits the window
    }
    [left] = _events(sessions, resolve, "Page Left")
    assert left.properties == {
        "seconds": 65,
        "max_scroll_percent": 100,
        "url": site.url(PRICING),
        "path": "/pricing",
    }

    page.clock.run_for(6_000)  # 120 visible seconds, and the batch timer
    engaged = _wait_events(sessions, resolve, "Page Engaged", 4)
    assert sorted(e.properties["seconds"] for e in engaged) == [15, 30, 60, 120]


def test_scrolling_to_the_bottom_of_a_long_page(
    page: Page, site: Site, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    _pause_clock(page)
    page.goto(site.url("/guide"))

    page.mouse.wheel(0, 10_000)
    page.wait_for_function("window.scrollY + window.innerHeight >= document.documentElement.scrollHeight")
    # The scroll handler may run after a first tick on a busy machine: tick until all marks are sent.
    seconds = 0
    while seconds < 10 and len(_events(sessions, resolve, "Page Scrolled")) < 4:
        page.clock.run_for(1_000)
        seconds += 1
        time.sleep(0.2)
    scrolled = _wait_events(sessions, resolve, "Page Scrolled", 4)
    guide = {"url": site.url("/guide"), "path": "/guide"}
    # One batch; the log stores a batch's events in message-id order, so sort them back.
    marks = sorted((e.properties for e in scrolled), key=lambda p: p["percent"])
    assert marks == [{"percent": p, **guide} for p in (25, 50, 75, 100)]

    page.goto(site.url(PRICING))
    [left] = _wait_events(sessions, resolve, "Page Left")
    # Only the seconds the paused clock was run for passed on the page.
    assert left.properties == {"seconds": seconds, "max_scroll_percent": 100, **guide}


def test_downloading_the_brochure_and_leaving_for_the_partner_site(
    page: Page, site: Site, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    page.goto(site.url(PRICING))

    with page.expect_download():
        page.click("#brochure")
    [downloaded] = _wait_events(sessions, resolve, "File Downloaded")
    assert downloaded.properties == {
        "href": site.url("/files/brochure.pdf"),
        "file_name": "brochure.pdf",
        "extension": "pdf",
    }

    page.click("#partner")
    [clicked] = _wait_events(sessions, resolve, "Link Clicked")
    assert clicked.properties == {
        "href": site.partner,
        "text": "Our implementation partner",
        "outbound": True,
    }
    assert page.url == site.partner


def test_identify_joins_the_anonymous_visits_to_the_contact(
    page: Page, site: Site, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    page.goto(site.url(PRICING))
    [viewed] = _wait_events(sessions, resolve, "Page Viewed")
    assert viewed.contact_id is None

    page.evaluate('fw.identify("u-42", {email: "kim@acme.co.kr"})')
    _wait_events(sessions, resolve, "Identify")
    with sessions() as session:
        contact = session.scalars(select(Contact).where(Contact.user_id == "u-42")).one()
    assert contact.email == "kim@acme.co.kr"
    assert page.evaluate('localStorage.getItem("fw_uid")') == "u-42"

    page.evaluate('fw.track("Demo Requested", {product: "CRM"})')
    [requested] = _wait_events(sessions, resolve, "Demo Requested")
    assert (requested.contact_id, requested.anonymous_id) == (contact.id, _anonymous_id(page))
    with sessions() as session:
        names = sorted(e.name for e in timeline(session, contact.id).results)
    assert names == ["Demo Requested", "Identify", "Page Viewed", "Pricing Table Shown"]


def test_nothing_is_sent_or_stored_before_the_visitor_consents(
    page: Page, site: Site, live_server: str, sessions: sessionmaker[Session], resolve: Resolve
) -> None:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/v1/" in request.url else None)
    _pause_clock(page)
    page.goto(site.url("/welcome"))

    page.evaluate('fw.track("Before Consent")')
    page.clock.run_for(5_000)
    assert sent == []
    assert page.context.cookies() == []

    page.evaluate("fw.consent(true)")
    page.clock.run_for(1_000)
    [viewed] = _wait_events(sessions, resolve, "Page Viewed")
    assert viewed.properties["path"] == "/welcome"
    assert viewed.anonymous_id == _anonymous_id(page)
    assert [e.name for e in _events(sessions, resolve)] == ["Page Viewed"]
    assert sent == [f"{live_server}/v1/batch"]

    page.evaluate('fw.consent(false); fw.track("After Withdrawal")')
    page.clock.run_for(5_000)
    assert page.context.cookies() == []
    assert sent == [f"{live_server}/v1/batch"]
