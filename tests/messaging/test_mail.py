"""Sending one email over SMTP to a real (local) server."""

from collections.abc import Iterator

import pytest

from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings, SettingsError
from funnelwise.context import Context
from funnelwise.messaging.mail import Mail, send_mail
from tests.conftest import START
from tests.messaging.support import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


def _context(**smtp: object) -> Context:
    settings = Settings(
        secret_key="test", mail_from="펀널와이즈 <hello@funnelwise.example>", _env_file=None, **smtp
    )
    return Context(settings=settings, clock=SimulatedClock(START))


def test_a_korean_mail_arrives_as_utf8_with_its_subject_sender_and_date(sink: SmtpSink) -> None:
    ctx = _context(smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="none")

    send_mail(
        ctx,
        Mail(
            to="민수 <minsu@example.co.kr>",
            subject="[웨비나] 수신 동의를 확인해 주세요",
            text="안녕하세요.\n",
        ),
    )

    (message,) = sink.messages
    assert sink.recipients == [["minsu@example.co.kr"]]
    assert message["Subject"] == "[웨비나] 수신 동의를 확인해 주세요"
    assert message["From"] == "펀널와이즈 <hello@funnelwise.example>"
    assert message["To"] == "민수 <minsu@example.co.kr>"
    assert message["Date"] == "Sun, 22 Nov 2026 01:00:00 +0000"
    assert message["Message-ID"].endswith("@funnelwise.example>")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == "안녕하세요.\r\n"  # SMTP lines end in CRLF


def test_an_html_part_travels_beside_the_text(sink: SmtpSink) -> None:
    ctx = _context(smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="none")

    send_mail(ctx, Mail(to="a@example.org", subject="Hello", text="Hi", html="<p>Hi</p>"))

    (message,) = sink.messages
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content() for part in message.iter_parts()] == ["Hi\r\n", "<p>Hi</p>\r\n"]


def test_without_an_smtp_host_sending_is_refused_with_the_setting_to_fix() -> None:
    with pytest.raises(SettingsError, match="'FUNNELWISE_SMTP_HOST' is missing"):
        send_mail(_context(), Mail(to="a@example.org", subject="Hello", text="Hi"))
