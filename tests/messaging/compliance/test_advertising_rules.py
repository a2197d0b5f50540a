"""The law's additions to advertising: "(광고)" first, the sender and a free opt-out in the body."""

import pytest

from funnelwise.config import Settings
from funnelwise.messaging.compliance import ComplianceError, apply_advertising_rules
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.templates.render import RenderedContent
from tests.messaging.compliance.builders import lawful

UNSUBSCRIBE = "https://mail.acme.example/u/42.signature"
SENDER = "발신자: 에이크미 · 연락처: 02-123-4567, 서울시 중구 세종대로 1"


@pytest.fixture
def settings() -> Settings:
    return lawful(Settings(secret_key="test", _env_file=None))


def test_an_advertising_email_is_marked_in_its_subject_and_names_the_sender_and_unsubscribe_link(
    settings: Settings,
) -> None:
    content = RenderedContent(
        subject="봄맞이 20% 할인",
        text="지금 확인하세요.",
        html="<html><body><p>지금 확인하세요.</p></body></html>",
    )

    lawful_mail = apply_advertising_rules(
        content, MessageChannel.EMAIL, settings, unsubscribe_url=UNSUBSCRIBE
    )

    assert lawful_mail.subject == "(광고) 봄맞이 20% 할인"
    assert lawful_mail.text == (
        "지금 확인하세요.\n\n--\n"
        f"{SENDER}\n"
        f"수신을 원하지 않으시면 무료로 수신거부하실 수 있습니다: {UNSUBSCRIBE}\n"
        f"To stop receiving these emails, unsubscribe free of charge: {UNSUBSCRIBE}\n"
    )
    body, footer = lawful_mail.html.split('<div class="fw-ad-footer"', 1)
    assert body == "<html><body><p>지금 확인하세요.</p>"
    assert footer.endswith("</div></body></html>")
    assert f"<p>{SENDER}</p>" in footer
    assert footer.count(f'<a href="{UNSUBSCRIBE}">') == 2


def test_nothing_is_added_twice_when_the_author_marked_it_or_the_rules_run_again(settings: Settings) -> None:
    content = RenderedContent(subject=" (광고) 봄 세일", text="본문", html="<p>본문</p>")

    once = apply_advertising_rules(content, MessageChannel.EMAIL, settings, unsubscribe_url=UNSUBSCRIBE)
    twice = apply_advertising_rules(once, MessageChannel.EMAIL, settings, unsubscribe_url=UNSUBSCRIBE)

    assert once.subject == " (광고) 봄 세일"
    assert twice == once
    assert once.html.count("fw-ad-footer") == 1


def test_an_advertising_sms_starts_with_the_mark_and_sender_and_ends_with_the_080_number(
    settings: Settings,
) -> None:
    content = RenderedContent(subject=None, text="오늘만 전 품목 20% 할인!", html=None)

    sms = apply_advertising_rules(content, MessageChannel.SMS, settings, unsubscribe_url=None)

    assert sms.text == (
        "(광고) 에이크미\n오늘만 전 품목 20% 할인!\n02-123-4567, 서울시 중구 세종대로 1\n무료수신거부 080-500-4567"
    )
    assert apply_advertising_rules(sms, MessageChannel.SMS, settings, unsubscribe_url=None) == sms


def test_an_sms_its_author_marked_keeps_its_own_first_line(settings: Settings) -> None:
    content = RenderedContent(subject=None, text="(광고)에이크미 오늘만 할인", html=None)

    sms = apply_advertising_rules(content, MessageChannel.SMS, settings, unsubscribe_url=None)

    assert sms.text.splitlines()[0] == "(광고)에이크미 오늘만 할인"
    assert sms.text.count("(광고)") == 1


def test_advertising_sms_without_an_opt_out_number_is_refused_with_the_setting_to_fix(
    settings: Settings,
) -> None:
    content = RenderedContent(subject=None, text="할인!", html=None)

    with pytest.raises(ComplianceError) as refused:
        apply_advertising_rules(
            content, MessageChannel.SMS, lawful(settings, sms_optout_number=None), unsubscribe_url=None
        )

    assert refused.value.reason == (
        "advertising SMS must carry a free opt-out number: set FUNNELWISE_SMS_OPTOUT_NUMBER "
        "(for example 080-123-4567)"
    )


def test_advertising_without_a_sender_is_refused_on_every_channel(settings: Settings) -> None:
    anonymous = lawful(settings, sender_name=None, sender_contact=None)
    content = RenderedContent(subject="세일", text="할인!", html=None)

    for channel in (
        MessageChannel.EMAIL,
        MessageChannel.SMS,
        MessageChannel.KAKAO_BRAND,
        MessageChannel.PUSH,
    ):
        with pytest.raises(ComplianceError, match="set FUNNELWISE_SENDER_NAME and FUNNELWISE_SENDER_CONTACT"):
            apply_advertising_rules(content, channel, anonymous, unsubscribe_url=UNSUBSCRIBE)


def test_advertising_email_without_an_unsubscribe_link_is_refused(settings: Settings) -> None:
    content = RenderedContent(subject="세일", text="할인!", html=None)

    with pytest.raises(ComplianceError, match="needs an unsubscribe link"):
        apply_advertising_rules(content, MessageChannel.EMAIL, settings, unsubscribe_url=None)


def test_a_kakao_brand_message_is_marked_and_says_how_to_block_the_channel(settings: Settings) -> None:
    content = RenderedContent(subject=None, text="신상품이 나왔어요", html=None, data={"buttons": []})

    brand = apply_advertising_rules(content, MessageChannel.KAKAO_BRAND, settings, unsubscribe_url=None)

    assert brand.text == (
        "(광고) 에이크미\n신상품이 나왔어요\n02-123-4567, 서울시 중구 세종대로 1\n"
        "수신거부: 채널 차단 / 무료수신거부 080-500-4567"
    )
    assert brand.data == {"buttons": []}


def test_a_push_is_marked_in_its_title_and_says_how_to_turn_it_off(settings: Settings) -> None:
    content = RenderedContent(
        subject=None, text="장바구니 상품이 할인 중", html=None, data={"title": "할인 소식"}
    )

    push = apply_advertising_rules(content, MessageChannel.PUSH, settings, unsubscribe_url=None)

    assert push.data == {"title": "(광고) 할인 소식"}
    assert push.text == "장바구니 상품이 할인 중\n에이크미 · 수신거부: 앱 설정 > 알림"


def test_alimtalk_refuses_advertising_and_webhooks_are_left_alone(settings: Settings) -> None:
    content = RenderedContent(subject=None, text="할인!", html=None)

    with pytest.raises(ComplianceError, match="AlimTalk carries informational messages only"):
        apply_advertising_rules(content, MessageChannel.KAKAO, settings, unsubscribe_url=None)
    assert apply_advertising_rules(content, MessageChannel.WEBHOOK, settings, unsubscribe_url=None) == content
