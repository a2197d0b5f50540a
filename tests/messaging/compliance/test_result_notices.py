"""The result notice of an opt-in or opt-out, as the sender renders it for the contact."""

from datetime import UTC, datetime

import pytest

from funnelwise.config import Settings
from funnelwise.messaging.compliance import render_system_notice
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.templates.render import RenderError
from tests.messaging.compliance.builders import lawful

AT = datetime(2026, 11, 22, 14, 30, tzinfo=UTC).isoformat()


@pytest.fixture
def settings() -> Settings:
    return lawful(Settings(secret_key="test", _env_file=None))


def test_an_opt_out_is_confirmed_with_the_sender_the_date_and_the_result(settings: Settings) -> None:
    variables = {
        "consent_channel": "sms",
        "topics": ["newsletter", "promotions"],
        "status": "revoked",
        "at": AT,
    }

    notice = render_system_notice(
        "consent-result",
        contact={"locale": None},
        variables=variables,
        channel=MessageChannel.SMS,
        settings=settings,
    )

    assert notice.text == (
        "[에이크미] 안녕하세요, 에이크미입니다. 요청하신 문자(SMS) '뉴스레터, 이벤트·할인 혜택' 광고성 정보 "
        "수신거부가 2026년 11월 22일에 처리되었습니다.\n\n"
        "전송자: 에이크미 · 처리 일자: 2026년 11월 22일 · 처리 결과: 수신거부\n\n"
        "발신자: 에이크미 (02-123-4567, 서울시 중구 세종대로 1)"
    )


def test_an_opt_in_by_email_in_english_says_how_to_opt_out_again(settings: Settings) -> None:
    variables = {"consent_channel": "email", "topics": ["promotions"], "status": "granted", "at": AT}

    notice = render_system_notice(
        "consent-result",
        contact={"locale": "en", "timezone": "Europe/London"},
        variables=variables,
        channel=MessageChannel.EMAIL,
        settings=settings,
        unsubscribe_url="https://acme.example/u/9.sig",
    )

    assert notice.subject == "[에이크미] Your subscription choice was recorded"
    assert notice.text.split("\n\n") == [
        "Hello from 에이크미. On November 22, 2026 you opted in to 'promotions and offers' advertising by email.",
        "Sender: 에이크미 · Date: November 22, 2026 · Result: subscribed",
        "You can opt out at any time, free of charge: https://acme.example/u/9.sig",
        "Sender: 에이크미 (02-123-4567, 서울시 중구 세종대로 1)",
    ]
    assert notice.html.startswith("<html><body><p>Hello from 에이크미.")


def test_an_unknown_notice_or_a_missing_variable_is_a_render_error_with_its_reason(
    settings: Settings,
) -> None:
    with pytest.raises(RenderError, match="unknown system notice 'birthday'"):
        render_system_notice(
            "birthday", contact={}, variables={}, channel=MessageChannel.EMAIL, settings=settings
        )
    with pytest.raises(RenderError, match="missing or has a bad variable: 'consent_channel'"):
        render_system_notice(
            "consent-result",
            contact={},
            variables={"at": AT},
            channel=MessageChannel.EMAIL,
            settings=settings,
        )
