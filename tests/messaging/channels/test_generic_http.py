"""The generic HTTP adapter POSTs each message as JSON to a configured gateway, keyed for retries."""

import pytest

from funnelwise.messaging.channels.generic_http import GenericHttpProvider, configured_channels
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError
from tests.messaging.channels.fake_gateway import API_KEY, FakeGateway
from tests.messaging.channels.local_server import HANG_UP
from tests.messaging.channels.support import delivery, provider_settings, run


@pytest.fixture
def gateway() -> FakeGateway:
    with FakeGateway() as fake:
        yield fake


def send(gateway: FakeGateway, message: Delivery, headers: dict[str, str] | None = None) -> Accepted:
    settings = provider_settings(
        generic_http_url=f"{gateway.url}/messages",
        generic_http_headers={"X-Api-Key": API_KEY} if headers is None else headers,
        generic_http_channels="sms, push",
    )

    async def go() -> Accepted:
        provider = GenericHttpProvider(settings)
        try:
            return await provider.send(message)
        finally:
            await provider.aclose()

    return run(go())


def test_a_message_is_posted_as_json_with_its_key_and_the_gateways_id_comes_back(
    gateway: FakeGateway,
) -> None:
    message = delivery(MessageChannel.SMS, "+821012345678", "인증번호 123456", data={"sender": "0212345678"})

    accepted = send(gateway, message)

    assert accepted == Accepted(provider="generic_http", provider_message_id="gw-1")
    (request,) = gateway.requests
    assert request.path == "/messages"
    assert request.headers["idempotency-key"] == message.idempotency_key
    assert request.json() == {
        "id": message.idempotency_key,
        "channel": "sms",
        "to": "+821012345678",
        "subject": None,
        "text": "인증번호 123456",
        "html": None,
        "data": {"sender": "0212345678"},
    }


def test_a_retried_send_carries_the_same_key_and_is_taken_once(gateway: FakeGateway) -> None:
    message = delivery(MessageChannel.PUSH, "device-token", "hello")
    gateway.force(HANG_UP)

    with pytest.raises(ProviderError) as no_answer:
        send(gateway, message)
    assert no_answer.value.retryable  # idempotent: asking again with the same key is safe
    first = send(gateway, message)
    again = send(gateway, message)

    assert first == again
    assert list(gateway.taken) == [message.idempotency_key]


def test_the_gateways_refusal_is_final_with_its_reason_and_its_trouble_is_retried(
    gateway: FakeGateway,
) -> None:
    with pytest.raises(ProviderError) as refused:
        send(gateway, delivery(MessageChannel.SMS, "+821012345678", "hi"), headers={})
    gateway.force(503, {"message": "maintenance"})
    with pytest.raises(ProviderError) as later:
        send(gateway, delivery(MessageChannel.SMS, "+821012345678", "hi"))

    assert (refused.value.retryable, refused.value.reason) == (
        False,
        "generic HTTP provider answered 401: unknown API key",
    )
    assert (later.value.retryable, later.value.reason) == (
        True,
        "generic HTTP provider answered 503: maintenance",
    )


def test_a_2xx_without_a_json_id_is_taken_all_the_same(gateway: FakeGateway) -> None:
    gateway.force(204)

    assert send(gateway, delivery(MessageChannel.SMS, "+821012345678", "hi")) == Accepted(
        provider="generic_http"
    )


def test_the_channels_it_serves_come_from_the_settings_and_an_unknown_one_is_named() -> None:
    assert configured_channels(provider_settings(generic_http_channels="SMS,push,")) == {
        MessageChannel.SMS,
        MessageChannel.PUSH,
    }
    with pytest.raises(ValueError, match="unknown channels fax"):
        configured_channels(provider_settings(generic_http_channels="sms,fax"))
    assert GenericHttpProvider.idempotent is True
