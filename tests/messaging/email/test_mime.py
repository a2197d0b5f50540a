"""The message writer's headers, read back by the stdlib's parser."""

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from funnelwise.messaging.channels.mime import AddressError, MessageWriter, encoded_header, envelope_recipient
from funnelwise.messaging.message import MessageChannel, Rendered

DATE = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)


def _parsed(subject: str, to: str = "minsu@example.co.kr") -> tuple[bytes, object]:
    writer = MessageWriter("펀널와이즈 <hello@funnelwise.example>")
    envelope = writer.write(7, Rendered(MessageChannel.EMAIL, to, "본문", subject=subject), DATE)
    return envelope.data, message_from_bytes(envelope.data, policy=policy.default)


@pytest.mark.parametrize(
    "subject",
    [
        "(광고) 11월 신상품 안내",
        "안녕",
        "Ünïcödé and ASCII mixed, with commas, (parentheses) and =?question?= marks",
        "(광고) " + " ".join(["겨울 신상품을 최대 50% 할인된 가격으로 만나 보세요."] * 8),
        "😀" * 40 + " emoji four bytes each",
        "a" * 70 + "한",
    ],
)
def test_a_non_ascii_subject_reads_back_the_same(subject: str) -> None:
    data, message = _parsed(subject)

    assert message["Subject"] == subject  # type: ignore[index]
    header = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 76 for line in header.split(b"\r\n") if b"=?utf-8?b?" in line)


def test_an_ascii_header_is_left_as_it_is() -> None:
    assert encoded_header("Subject", "November news") == "Subject: November news"
    assert encoded_header("Subject", "two\r\n lines") == "Subject: two lines"


def test_a_display_name_in_korean_reads_back() -> None:
    _, message = _parsed("hi", to="김민수 <minsu@example.co.kr>")

    assert message["To"] == "김민수 <minsu@example.co.kr>"  # type: ignore[index]
    assert message["From"] == "펀널와이즈 <hello@funnelwise.example>"  # type: ignore[index]


def test_a_checked_address_is_used_as_it_is_and_others_are_parsed() -> None:
    assert envelope_recipient("minsu.kim+news@example.co.kr") == (
        "minsu.kim+news@example.co.kr",
        "minsu.kim+news@example.co.kr",
    )
    assert envelope_recipient("Minsu <minsu@example.co.kr>") == (
        "Minsu <minsu@example.co.kr>",
        "minsu@example.co.kr",
    )
    assert envelope_recipient("minsu@예시.kr")[1] == "minsu@" + "예시.kr".encode("idna").decode()
    with pytest.raises(AddressError):
        envelope_recipient("not an address")
    with pytest.raises(AddressError):
        envelope_recipient("민수@example.co.kr")
