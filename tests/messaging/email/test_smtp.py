"""Sending email through the SMTP provider to a real SMTP server."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest

from funnelwise.clock import SimulatedClock
from funnelwise.messaging import links
from funnelwise.messaging.channels.http_status import OutcomeUnknown
from funnelwise.messaging.channels.smtp import SmtpProvider
from funnelwise.messaging.message import Accepted, MessageChannel, ProviderError
from tests.conftest import START
from tests.messaging.email.smtp_support import PickySink, dkim_key, email, smtp_settings


@pytest.fixture(params=[False, True], ids=["one-command-a-time", "pipelined"])
def sink(request: pytest.FixtureRequest) -> Iterator[PickySink]:
    """Every test runs against a server without PIPELINING and one with it (RFC 2920)."""
    with PickySink(pipelining=request.param) as sink:
        yield sink


def _send_all(provider: SmtpProvider, *deliveries: object) -> list[Accepted]:
    async def run() -> list[Accepted]:
        try:
            return list(await asyncio.gather(*(provider.send(d) for d in deliveries)))  # type: ignore[arg-type]
        finally:
            await provider.aclose()

    return asyncio.run(run())


def test_an_email_arrives_with_its_headers_and_both_parts(sink: PickySink) -> None:
    settings = smtp_settings(sink)
    provider = SmtpProvider(settings, SimulatedClock(START))
    headers = links.list_unsubscribe_headers(settings, 41)

    (accepted,) = _send_all(
        provider,
        email(
            41, "김민수 <minsu@example.co.kr>", html="<p>새 상품을 <b>소개</b>합니다.</p>", headers=headers
        ),
    )

    (message,) = sink.wait_for(1)
    assert sink.recipients == [["minsu@example.co.kr"]]
    assert message["From"] == "펀널와이즈 <hello@funnelwise.example>"
    assert message["To"] == "김민수 <minsu@example.co.kr>"
    assert message["Subject"] == "(광고) 11월 신상품 안내"
    assert message["Date"] == "Sun, 22 Nov 2026 01:00:00 +0000"
    assert message["List-Unsubscribe"] == headers["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] == accepted.provider_message_id
    assert accepted.provider == "smtp"
    assert accepted.provider_message_id.startswith("<fw.41.")
    assert accepted.provider_message_id.endswith("@funnelwise.example>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), text.get_content_charset()) == ("text/plain", "utf-8")
    assert text.get_content() == "안녕하세요, 민수님.\r\n새 상품을 소개합니다.\r\n"
    assert (html.get_content_type(), html.get_content()) == (
        "text/html",
        "<p>새 상품을 <b>소개</b>합니다.</p>",
    )


def test_a_plain_text_email_is_one_part(sink: PickySink) -> None:
    _send_all(
        SmtpProvider(smtp_settings(sink)), email(1, "ops@example.org", subject="Report", text="All good")
    )

    (message,) = sink.wait_for(1)
    assert message.get_content_type() == "text/plain"
    assert message["Content-Transfer-Encoding"] == "7bit"
    assert message.get_content() == "All good\r\n"


def test_the_pool_reuses_its_connections(sink: PickySink) -> None:
    provider = SmtpProvider(smtp_settings(sink, smtp_pool_size=2))

    _send_all(provider, *(email(n, f"person{n}@example.org") for n in range(10)))

    sink.wait_for(10)
    assert sorted(address for (address,) in sink.recipients) == sorted(
        f"person{n}@example.org" for n in range(10)
    )
    assert len(set(sink.peers)) == 2


def test_a_connection_the_server_closed_is_opened_again(sink: PickySink) -> None:
    provider = SmtpProvider(smtp_settings(sink, smtp_pool_size=1))
    sink.drop_after_reply = True

    async def run() -> None:
        await provider.send(email(1, "first@example.org"))
        await asyncio.sleep(0.2)  # the server has closed the kept-open connection by now
        await provider.send(email(2, "second@example.org"))
        await provider.aclose()

    asyncio.run(run())

    sink.wait_for(2)
    assert sink.recipients == [["first@example.org"], ["second@example.org"]]
    assert len(set(sink.peers)) == 2


def test_a_550_refusal_is_final_and_carries_the_servers_words(sink: PickySink) -> None:
    sink.refuse["gone@example.org"] = "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"
    provider = SmtpProvider(smtp_settings(sink, smtp_pool_size=1))

    async def run() -> ProviderError:
        with pytest.raises(ProviderError) as refused:
            await provider.send(email(1, "gone@example.org"))
        # The refused transaction was reset: the same connection carries the next message.
        await provider.send(email(2, "here@example.org"))
        await provider.aclose()
        return refused.value

    error = asyncio.run(run())

    assert error.retryable is False
    assert error.reason == "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"
    assert sink.recipients == [["here@example.org"]]


def test_a_4xx_reply_asks_for_a_retry(sink: PickySink) -> None:
    sink.refuse["busy@example.org"] = "451 4.7.1 Greylisted, try again later"

    with pytest.raises(ProviderError) as refused:
        _send_all(SmtpProvider(smtp_settings(sink)), email(1, "busy@example.org"))

    assert (refused.value.retryable, refused.value.reason) == (True, "451 4.7.1 Greylisted, try again later")


def test_a_server_that_cannot_be_reached_is_a_retryable_error() -> None:
    with PickySink() as sink:
        settings = smtp_settings(sink)
    # The sink has stopped: nothing listens on its port any more.

    with pytest.raises(ProviderError) as failed:
        _send_all(SmtpProvider(settings), email(1, "someone@example.org"))

    assert failed.value.retryable is True
    assert failed.value.reason.startswith("cannot connect to the SMTP server")


def test_a_connection_lost_during_data_is_not_retried_so_nothing_is_sent_twice(sink: PickySink) -> None:
    sink.drop_before_reply = True

    with pytest.raises(OutcomeUnknown) as failed:
        _send_all(SmtpProvider(smtp_settings(sink)), email(1, "someone@example.org"))

    assert failed.value.retryable is False
    assert "whether it took the message is unknown" in failed.value.reason


def test_a_connection_lost_before_the_message_was_sent_is_retryable(sink: PickySink) -> None:
    sink.drop_at_rcpt = True

    with pytest.raises(ProviderError) as failed:
        _send_all(SmtpProvider(smtp_settings(sink)), email(1, "someone@example.org"))

    assert not isinstance(failed.value, OutcomeUnknown)
    assert failed.value.retryable is True
    assert failed.value.reason.startswith("connection to the SMTP server lost")
    assert sink.messages == []


def test_an_address_smtp_cannot_carry_is_refused_before_sending(sink: PickySink) -> None:
    with pytest.raises(ProviderError) as refused:
        _send_all(SmtpProvider(smtp_settings(sink)), email(1, "not an address"))

    assert refused.value.retryable is False
    assert refused.value.reason == "'not an address' is not an email address"


def test_the_rate_limit_spaces_sends(sink: PickySink) -> None:
    provider = SmtpProvider(smtp_settings(sink, smtp_rate_per_second=10))

    started = time.monotonic()
    _send_all(provider, *(email(n, f"person{n}@example.org") for n in range(6)))
    elapsed = time.monotonic() - started

    # Six sends at ten a second: the sixth starts half a second after the first.
    assert elapsed >= 0.5
    assert len(sink.wait_for(6)) == 6


def test_a_dkim_signature_verifies_against_the_published_key(sink: PickySink, tmp_path: Path) -> None:
    private_key, record = dkim_key(tmp_path)
    settings = smtp_settings(sink, dkim_private_key=str(tmp_path / "dkim.key"), dkim_selector="fw2026")
    headers = links.list_unsubscribe_headers(settings, 8)

    _send_all(
        SmtpProvider(settings), email(8, "민수 <minsu@example.co.kr>", html="<p>안녕</p>", headers=headers)
    )

    (message,) = sink.wait_for(1)
    signature = message["DKIM-Signature"]
    assert "d=funnelwise.example" in signature and "s=fw2026" in signature
    lookups: list[str] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        lookups.append(name.decode())
        return record

    assert dkim.verify(message.as_bytes(), dnsfunc=dns) is True
    assert lookups == ["fw2026._domainkey.funnelwise.example."]
    assert private_key.startswith("-----BEGIN")


def test_a_tampered_message_fails_dkim(sink: PickySink, tmp_path: Path) -> None:
    private_key, record = dkim_key(tmp_path)
    settings = smtp_settings(
        sink, dkim_private_key=private_key, dkim_selector="fw", dkim_domain="mail.funnelwise.example"
    )

    _send_all(SmtpProvider(settings), email(9, "minsu@example.co.kr"))

    (message,) = sink.wait_for(1)
    tampered = message.as_bytes().replace("(광고)".encode(), b"").replace(b"Subject:", b"Subject: Free money")
    assert dkim.verify(message.as_bytes(), dnsfunc=lambda _name, timeout=5: record) is True
    assert dkim.verify(tampered, dnsfunc=lambda _name, timeout=5: record) is False


def test_the_smtp_provider_sends_email_only(sink: PickySink) -> None:
    delivery = email(1, "minsu@example.co.kr")
    sms = type(delivery)(1, "k", type(delivery.rendered)(MessageChannel.SMS, "+821012345678", "hi"))

    with pytest.raises(ProviderError, match="sends email, not sms"):
        _send_all(SmtpProvider(smtp_settings(sink)), sms)
