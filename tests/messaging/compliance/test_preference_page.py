"""The preference page and one-click unsubscribe at /u/<token>, over real HTTP, without cookies."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.messaging.consent import Channel, ConsentGrant, ConsentStatus, consents_of, grant_consent
from funnelwise.messaging.links import UNSUBSCRIBE, message_token
from funnelwise.messaging.outbox import OutboxMessage
from tests.factories import make_contact
from tests.messaging.compliance.builders import events, make_message


@pytest.fixture
def browser(live_server: str) -> Iterator[httpx.Client]:
    """A client that keeps no cookies: the page must work for a mail client's bare request."""
    with httpx.Client(base_url=live_server, timeout=30, cookies=None) as client:
        yield client


def _link(settings: Settings, message_id: int) -> str:
    return f"/u/{message_token(settings, UNSUBSCRIBE, message_id)}"


def _subscribed(session: Session, ctx: Context, contact_id: int, *topics: tuple[Channel, str]) -> None:
    for channel, topic in topics:
        grant = ConsentGrant(channel, topic, "동의합니다", "v1", "form:spring", None)
        grant_consent(session, ctx, contact_id, grant)
    session.commit()


def _statuses(session: Session, contact_id: int) -> dict[tuple[str, str], str]:
    session.expire_all()
    return {(c.channel, c.topic): c.status.value for c in consents_of(session, contact_id)}


def test_the_page_shows_a_box_per_channel_and_topic_in_korean(
    sessions: sessionmaker[Session], ctx: Context, browser: httpx.Client
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, email="jiwoo@example.kr", phone="010-2345-6789", locale="ko-KR")
        _subscribed(session, ctx, contact.id, (Channel.EMAIL, "promotions"))
        message = make_message(session, ctx, contact.id)

    page = browser.get(_link(ctx.settings, message.id))

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers
    html = page.text
    assert '<html lang="ko">' in html and "<h1>수신 설정</h1>" in html
    assert "<legend>이메일</legend>" in html and "<legend>문자(SMS)</legend>" in html
    assert '<input type="checkbox" name="consent" value="email:promotions" checked>' in html
    assert '<input type="checkbox" name="consent" value="email:newsletter">' in html
    assert 'value="sms:night"' in html and 'value="email:night"' not in html
    assert "<legend>앱 푸시</legend>" not in html  # no push token, no push consents
    assert "모두 수신거부" in html and "<script" not in html


def test_the_page_speaks_english_to_a_contact_whose_locale_is_english(
    sessions: sessionmaker[Session], ctx: Context, browser: httpx.Client
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, locale="en-US")
        message = make_message(session, ctx, contact.id)

    html = browser.get(_link(ctx.settings, message.id)).text

    assert '<html lang="en">' in html and "<h1>Your subscriptions</h1>" in html
    assert "<span>promotions and offers</span>" in html and "Unsubscribe from everything" in html


def test_one_click_unsubscribe_revokes_exactly_the_message_s_topic_and_records_it_once(
    sessions: sessionmaker[Session], ctx: Context, browser: httpx.Client
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, phone="010-2345-6789")
        _subscribed(
            session,
            ctx,
            contact.id,
            (Channel.EMAIL, "promotions"),
            (Channel.EMAIL, "newsletter"),
            (Channel.SMS, "promotions"),
        )
        message = make_message(session, ctx, contact.id, workflow_id=7, variant="B")

    answers = [
        browser.post(
            _link(ctx.settings, message.id),
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        for _ in range(2)
    ]

    assert [answer.status_code for answer in answers] == [200, 200]
    with sessions() as session:
        assert _statuses(session, contact.id) == {
            ("email", "newsletter"): "granted",
            ("email", "promotions"): "revoked",
            ("sms", "promotions"): "granted",
        }
        assert session.get(OutboxMessage, message.id).unsubscribed_at == ctx.clock.now()
        assert events(session, contact.id, "Email Unsubscribed") == [
            (
                "Email Unsubscribed",
                {
                    "message_id": message.id,
                    "template": "spring-sale",
                    "channel": "email",
                    "topic": "promotions",
                    "workflow_id": 7,
                    "broadcast_id": None,
                    "variant": "B",
                },
            )
        ]
        [(_, revoked)] = events(session, contact.id, "Consent Revoked")
        assert (revoked["topic"], revoked["source"], revoked["ip"]) == (
            "promotions",
            "one_click_unsubscribe",
            "127.0.0.1",
        )


def test_saving_the_page_grants_what_is_ticked_and_revokes_what_is_not(
    sessions: sessionmaker[Session], ctx: Context, browser: httpx.Client
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, locale="ko")
        _subscribed(session, ctx, contact.id, (Channel.EMAIL, "promotions"))
        message = make_message(session, ctx, contact.id)

    saved = browser.post(
        _link(ctx.settings, message.id), data={"consent": ["email:newsletter", "email:bogus"], "save": "1"}
    )

    assert saved.status_code == 200 and "수신 설정을 저장했습니다." in saved.text
    assert '<input type="checkbox" name="consent" value="email:newsletter" checked>' in saved.text
    with sessions() as session:
        assert _statuses(session, contact.id) == {
            ("email", "newsletter"): "granted",
            ("email", "promotions"): "revoked",
        }
        [newsletter] = [c for c in consents_of(session, contact.id) if c.topic == "newsletter"]
        assert (newsletter.source, newsletter.version, newsletter.wording) == (
            "preference_page",
            "preference-page-1",
            "이메일(으)로 '뉴스레터' 광고성 정보를 받는 데 동의합니다.",
        )
        assert [name for name, _ in events(session, contact.id, "Email Unsubscribed")] == [
            "Email Unsubscribed"
        ]


def test_unsubscribing_from_everything_revokes_every_channel(
    sessions: sessionmaker[Session], ctx: Context, browser: httpx.Client
) -> None:
    with sessions() as session:
        contact = make_contact(session, ctx, phone="010-2345-6789")
        _subscribed(
            session,
            ctx,
            contact.id,
            (Channel.EMAIL, "newsletter"),
            (Channel.SMS, "night"),
            (Channel.KAKAO, "promotions"),
        )
        message = make_message(session, ctx, contact.id, channel="sms")

    answer = browser.post(
        _link(ctx.settings, message.id), data={"consent": ["email:newsletter"], "everything": "1"}
    )

    assert answer.status_code == 200
    with sessions() as session:
        assert set(_statuses(session, contact.id).values()) == {ConsentStatus.REVOKED.value}
        assert [name for name, _ in events(session, contact.id, "SMS Unsubscribed")] == ["SMS Unsubscribed"]


def test_a_tampered_or_unknown_link_gets_a_page_saying_so_never_an_error(
    sessions: sessionmaker[Session], ctx: Context, browser: httpx.Client
) -> None:
    tampered = _link(ctx.settings, 5)[:-2] + "xx"

    assert browser.get(tampered).status_code == 400
    assert browser.get("/u/not-a-token").status_code == 400
    assert browser.post(tampered, content=b"List-Unsubscribe=One-Click").status_code == 400
    gone = browser.get(_link(ctx.settings, 999_999))
    assert gone.status_code == 404 and "더 이상 찾을 수 없습니다" in gone.text
