"""MAIL, RCPT and DATA in one write to a server that offers PIPELINING (RFC 2920)."""

import asyncio
from collections.abc import Iterator

import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from funnelwise.clock import SimulatedClock
from funnelwise.messaging import links
from funnelwise.messaging.channels import smtp
from funnelwise.messaging.channels.smtp import SmtpProvider
from funnelwise.messaging.message import ProviderError
from tests.conftest import START
from tests.messaging.email.smtp_support import PickySink, email, smtp_settings

LONG_SUBJECT = (
    "(광고) 겨울 신상품 안내: 따뜻한 니트와 코트를 최대 50% 할인된 가격으로 만나 보세요. 이번 주 일요일까지!"
)


@pytest.fixture
def sink() -> Iterator[PickySink]:
    with PickySink(pipelining=True) as sink:
        yield sink


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every write the pipelining connections make."""
    written: list[bytes] = []
    write = smtp._PipeliningProtocol.write

    def recording(self: smtp._PipeliningProtocol, data: bytes) -> None:
        written.append(data)
        write(self, data)

    monkeypatch.setattr(smtp._PipeliningProtocol, "write", recording)
    return written


def test_the_envelope_and_data_go_in_one_write_and_the_email_arrives_intact(
    sink: PickySink, writes: list[bytes]
) -> None:
    settings = smtp_settings(sink)
    headers = links.list_unsubscribe_headers(settings, 41)
    provider = SmtpProvider(settings, SimulatedClock(START))
    delivery = email(
        41,
        "minsu@example.co.kr",
        subject=LONG_SUBJECT,
        text=".starts with a dot\n..and two\n",
        html="<p>새 상품을 <b>소개</b>합니다.</p>",
        headers=headers,
    )

    async def run() -> str:
        try:
            return (await provider.send(delivery)).provider_message_id
        finally:
            await provider.aclose()

    message_id = asyncio.run(run())

    (message,) = sink.wait_for(1)
    assert sink.recipients == [["minsu@example.co.kr"]]
    assert message["Subject"] == LONG_SUBJECT
    assert message["From"] == "펀널와이즈 <hello@funnelwise.example>"
    assert message["To"] == "minsu@example.co.kr"
    assert message["Message-ID"] == message_id
    assert message["List-Unsubscribe"] == headers["List-Unsubscribe"]
    text, html = message.iter_parts()
    assert text.get_content() == ".starts with a dot\r\n..and two\r\n"
    assert html.get_content() == "<p>새 상품을 <b>소개</b>합니다.</p>"
    (commands,) = [data for data in writes if data.startswith(b"MAIL FROM:")]
    assert commands.startswith(b"MAIL FROM:<hello@funnelwise.example> SIZE=")
    assert commands.endswith(b"\r\nRCPT TO:<minsu@example.co.kr>\r\nDATA\r\n")
    (body,) = [data for data in writes if data.endswith(b"\r\n.\r\n")]
    assert b"\r\n..starts with a dot\r\n...and two\r\n" in body


def test_a_550_to_rcpt_is_final_and_the_connection_carries_the_next_message(sink: PickySink) -> None:
    sink.refuse["gone@example.org"] = "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"
    provider = SmtpProvider(smtp_settings(sink, smtp_pool_size=1))

    async def run() -> ProviderError:
        with pytest.raises(ProviderError) as refused:
            await provider.send(email(1, "gone@example.org"))
        await provider.send(email(2, "here@example.org"))
        await provider.send(email(3, "also@example.org"))
        await provider.aclose()
        return refused.value

    error = asyncio.run(run())

    assert (error.retryable, error.reason) == (
        False,
        "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown",
    )
    sink.wait_for(2)
    assert sink.recipients == [["here@example.org"], ["also@example.org"]]
    assert len(sink.greeted) == 1  # one connection throughout


def test_a_451_is_retryable_and_the_connection_carries_the_next_message(sink: PickySink) -> None:
    sink.refuse["busy@example.org"] = "451 4.7.1 Greylisted, try again later"
    provider = SmtpProvider(smtp_settings(sink, smtp_pool_size=1))

    async def run() -> ProviderError:
        with pytest.raises(ProviderError) as refused:
            await provider.send(email(1, "busy@example.org"))
        await provider.send(email(2, "here@example.org"))
        await provider.aclose()
        return refused.value

    error = asyncio.run(run())

    assert (error.retryable, error.reason) == (True, "451 4.7.1 Greylisted, try again later")
    assert sink.recipients == [["here@example.org"]]
    assert len(sink.greeted) == 1


def test_a_refused_message_is_final_and_the_next_goes_through(sink: PickySink) -> None:
    sink.refusals.append("554 5.7.1 Message rejected as spam")
    provider = SmtpProvider(smtp_settings(sink, smtp_pool_size=1))

    async def run() -> ProviderError:
        with pytest.raises(ProviderError) as refused:
            await provider.send(email(1, "first@example.org"))
        await provider.send(email(2, "second@example.org"))
        await provider.aclose()
        return refused.value

    error = asyncio.run(run())

    assert (error.retryable, error.reason) == (False, "554 5.7.1 Message rejected as spam")
    assert sink.recipients == [["second@example.org"]]
    assert len(sink.greeted) == 1


def test_many_messages_over_a_few_pipelining_connections_all_arrive(sink: PickySink) -> None:
    provider = SmtpProvider(smtp_settings(sink, smtp_pool_size=3))

    async def run() -> None:
        try:
            await asyncio.gather(*(provider.send(email(n, f"person{n}@example.org")) for n in range(60)))
        finally:
            await provider.aclose()

    asyncio.run(run())

    sink.wait_for(60)
    assert sorted(address for (address,) in sink.recipients) == sorted(
        f"person{n}@example.org" for n in range(60)
    )
    assert len(sink.greeted) == 3


@pytest.mark.parametrize(
    "data",
    [b".a\r\nb\r\n.c\r\n", b"a\nb\r\n.\r\n", b"a\r\nb", b"..\r\n", b"x\r\r\n.y", b"a\r\n.\r\n.\r\n", b""],
)
def test_the_body_is_dot_stuffed_as_aiosmtplib_does_it(data: bytes) -> None:
    expected = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data)) + b".\r\n"

    assert smtp._dot_stuffed(data) == expected
