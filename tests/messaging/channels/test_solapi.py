"""Solapi delivers SMS, LMS, AlimTalk and brand messages; a local Solapi checks every request."""

import pytest

from funnelwise.messaging.channels.http_status import OutcomeUnknown
from funnelwise.messaging.channels.solapi import KEY_FIELD, SolapiProvider, euc_kr_bytes
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError
from tests.messaging.channels.fake_solapi import (
    API_KEY,
    API_SECRET,
    ORDER_TEMPLATE,
    PF_ID,
    SENDER,
    FakeSolapi,
)
from tests.messaging.channels.local_server import HANG_UP
from tests.messaging.channels.support import delivery, provider_settings, run
from tests.messaging.support import free_port


@pytest.fixture
def solapi() -> FakeSolapi:
    with FakeSolapi() as fake:
        yield fake


def send(fake: FakeSolapi, message: Delivery, **settings: object) -> Accepted:
    values = {
        "solapi_api_key": API_KEY,
        "solapi_api_secret": API_SECRET,
        "solapi_base_url": fake.url,
        "sms_from": "02-1234-5678",
        "solapi_kakao_pf_id": PF_ID,
    } | settings

    async def go() -> Accepted:
        provider = SolapiProvider(provider_settings(**values))
        try:
            return await provider.send(message)
        finally:
            await provider.aclose()

    return run(go())


def test_a_short_text_goes_as_an_sms_from_the_registered_number_to_the_domestic_form(
    solapi: FakeSolapi,
) -> None:
    message = delivery(MessageChannel.SMS, "+821012345678", "[펀넬와이즈] 주문이 접수되었습니다.")

    accepted = send(solapi, message)

    assert accepted == Accepted(provider="solapi", provider_message_id=accepted.provider_message_id)
    assert accepted.provider_message_id.startswith("M4V")
    assert solapi.accepted == [
        {
            "to": "01012345678",
            "from": SENDER,
            "type": "SMS",
            "text": "[펀넬와이즈] 주문이 접수되었습니다.",
            "autoTypeDetect": False,
            "customFields": {KEY_FIELD: message.idempotency_key},
        }
    ]


def test_ninety_euc_kr_bytes_fit_an_sms_and_one_more_makes_an_lms_with_its_subject(
    solapi: FakeSolapi,
) -> None:
    ninety = "가" * 45
    longer = "가" * 45 + "a"
    assert (euc_kr_bytes(ninety), euc_kr_bytes(longer), euc_kr_bytes("😀")) == (90, 91, 2)

    send(solapi, delivery(MessageChannel.SMS, "+821012345678", ninety, subject="주문 안내"))
    send(solapi, delivery(MessageChannel.SMS, "+821012345678", longer, subject="주문 안내"))

    assert [(m["type"], m.get("subject")) for m in solapi.accepted] == [("SMS", None), ("LMS", "주문 안내")]


def test_a_text_beyond_an_lms_is_refused_before_it_is_sent(solapi: FakeSolapi) -> None:
    with pytest.raises(ProviderError) as refused:
        send(solapi, delivery(MessageChannel.SMS, "+821012345678", "가" * 1001))

    assert (refused.value.retryable, refused.value.reason) == (
        False,
        "the text is 2002 bytes in EUC-KR; an LMS holds at most 2000",
    )
    assert solapi.requests == []


def test_a_number_abroad_goes_with_its_country_code(solapi: FakeSolapi) -> None:
    send(solapi, delivery(MessageChannel.SMS, "+14155550123", "hello"))

    assert (solapi.accepted[0]["to"], solapi.accepted[0]["country"]) == ("4155550123", "1")


def test_every_request_carries_a_fresh_hmac_signature_over_date_and_salt(solapi: FakeSolapi) -> None:
    send(solapi, delivery(MessageChannel.SMS, "+821012345678", "one"))
    send(solapi, delivery(MessageChannel.SMS, "+821012345678", "two"))

    headers = [r.headers["authorization"] for r in solapi.requests]
    assert all(h.startswith(f"HMAC-SHA256 apiKey={API_KEY}, date=") for h in headers)
    assert headers[0] != headers[1]
    assert len(solapi.accepted) == 2


def test_a_wrong_secret_is_refused_with_solapis_reason_and_not_retried(solapi: FakeSolapi) -> None:
    with pytest.raises(ProviderError) as refused:
        send(solapi, delivery(MessageChannel.SMS, "+821012345678", "hi"), solapi_api_secret="not-the-secret")

    assert (refused.value.retryable, refused.value.reason) == (
        False,
        "Solapi 401 SignatureDoesNotMatch: signature does not match",
    )


def test_an_unregistered_sender_number_is_solapis_refusal_with_its_status(solapi: FakeSolapi) -> None:
    with pytest.raises(ProviderError) as refused:
        send(solapi, delivery(MessageChannel.SMS, "+821012345678", "hi"), sms_from="0299998888")

    assert (refused.value.retryable, refused.value.reason) == (
        False,
        "Solapi refused the message: 등록되지 않은 발신번호 (status 1062)",
    )
    assert solapi.accepted == []


def test_a_server_error_or_too_many_requests_is_tried_again_later(solapi: FakeSolapi) -> None:
    solapi.force(503, {"errorCode": "InternalError", "errorMessage": "일시적인 오류"})
    solapi.force(429, {"errorCode": "TooManyRequests", "errorMessage": "too many requests"})
    reasons = []
    for _ in range(2):
        with pytest.raises(ProviderError) as failed:
            send(solapi, delivery(MessageChannel.SMS, "+821012345678", "hi"))
        assert failed.value.retryable
        reasons.append(failed.value.reason)

    assert reasons == [
        "Solapi 503 InternalError: 일시적인 오류",
        "Solapi 429 TooManyRequests: too many requests",
    ]


def test_no_answer_after_the_request_left_is_an_unknown_outcome_never_retried(solapi: FakeSolapi) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ProviderError) as refused_connection:
        send(solapi, delivery(MessageChannel.SMS, "+821012345678", "hi"), solapi_base_url=nobody)
    assert refused_connection.value.retryable  # it never left: safe to try again

    solapi.force(HANG_UP)
    with pytest.raises(OutcomeUnknown) as unknown:
        send(solapi, delivery(MessageChannel.SMS, "+821012345678", "hi"))
    assert not unknown.value.retryable
    assert unknown.value.reason.startswith("Solapi: RemoteProtocolError: ")
    assert unknown.value.reason.endswith(
        "(the message may have been taken; not retried, to never send it twice)"
    )


def test_alimtalk_carries_the_template_id_and_its_variables_and_leaves_the_sms_substitute_to_us(
    solapi: FakeSolapi,
) -> None:
    message = delivery(
        MessageChannel.KAKAO,
        "+821098765432",
        "김하나님, 주문 A-1001이 발송되었습니다.",
        data={
            "template_code": ORDER_TEMPLATE,
            "variables": {"name": "김하나", "order_no": "A-1001"},
            "buttons": [{"buttonType": "DS", "buttonName": "배송 조회"}],
        },
    )

    accepted = send(solapi, message)

    assert accepted.provider_message_id
    assert solapi.accepted == [
        {
            "to": "01098765432",
            "from": SENDER,
            "type": "ATA",
            "kakaoOptions": {
                "pfId": PF_ID,
                "templateId": ORDER_TEMPLATE,
                "variables": {"#{name}": "김하나", "#{order_no}": "A-1001"},
                "disableSms": True,
                "buttons": [{"buttonType": "DS", "buttonName": "배송 조회"}],
            },
            "customFields": {KEY_FIELD: message.idempotency_key},
        }
    ]


def test_alimtalk_whose_variables_do_not_match_the_template_is_refused_with_kakaos_reason(
    solapi: FakeSolapi,
) -> None:
    message = delivery(
        MessageChannel.KAKAO,
        "+821098765432",
        "text",
        data={"template_code": ORDER_TEMPLATE, "variables": {"name": "김하나"}},
    )
    with pytest.raises(ProviderError) as refused:
        send(solapi, message)

    assert (refused.value.retryable, refused.value.reason) == (
        False,
        "Solapi refused the message: 템플릿 변수 불일치 (status 3035)",
    )


def test_alimtalk_without_a_template_code_or_a_channel_is_refused_here(solapi: FakeSolapi) -> None:
    with pytest.raises(ProviderError) as no_code:
        send(solapi, delivery(MessageChannel.KAKAO, "+821098765432", "text"))
    with pytest.raises(ProviderError) as no_channel:
        send(
            solapi,
            delivery(MessageChannel.KAKAO, "+821098765432", "t", data={"template_code": ORDER_TEMPLATE}),
            solapi_kakao_pf_id=None,
        )

    assert (
        no_code.value.reason == "an AlimTalk message needs the approved template's code (data.template_code)"
    )
    assert no_channel.value.reason.startswith("Config 'FUNNELWISE_SOLAPI_KAKAO_PF_ID' is missing")
    assert not no_code.value.retryable and not no_channel.value.retryable
    assert solapi.requests == []


def test_a_brand_message_goes_free_form_as_bms_to_the_channels_friends(solapi: FakeSolapi) -> None:
    buttons = [{"linkType": "WL", "name": "쿠폰 받기", "linkMobile": "https://shop.example.com/c"}]
    send(
        solapi,
        delivery(
            MessageChannel.KAKAO_BRAND, "+821098765432", "(광고) 이번 주 특가", data={"buttons": buttons}
        ),
    )
    send(
        solapi,
        delivery(
            MessageChannel.KAKAO_BRAND,
            "+821098765432",
            "(광고) 템플릿",
            data={"template_code": "KA01BT0001", "variables": {"coupon": "10%"}},
        ),
    )

    free, by_template = solapi.accepted
    assert (free["type"], free["text"], free["kakaoOptions"]) == (
        "BMS_FREE",
        "(광고) 이번 주 특가",
        {"pfId": PF_ID, "bms": {"targeting": "I", "chatBubbleType": "TEXT", "buttons": buttons}},
    )
    assert "type" not in by_template
    assert by_template["kakaoOptions"] == {
        "pfId": PF_ID,
        "bms": {"targeting": "I"},
        "templateId": "KA01BT0001",
        "variables": {"#{coupon}": "10%"},
    }


def test_solapi_is_not_idempotent_and_says_which_channels_it_serves() -> None:
    assert SolapiProvider.idempotent is False
    assert SolapiProvider.channels == {MessageChannel.SMS, MessageChannel.KAKAO, MessageChannel.KAKAO_BRAND}
    assert not SolapiProvider.is_configured(provider_settings())
