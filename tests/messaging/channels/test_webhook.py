"""The webhook channel POSTs a message's payload, signed like the workflow webhook step."""

import json

import pytest

from funnelwise.clock import SimulatedClock
from funnelwise.messaging.channels.webhook import WebhookProvider
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError
from funnelwise.sales.webhooks import sign
from tests.conftest import START
from tests.messaging.channels.support import delivery, provider_settings, run
from tests.webhook_receiver import Receiver

SECRET = "channel-secret"


def send(message: Delivery, **settings: object) -> Accepted:
    values = {"webhook_allow_private": True, "webhook_channel_secret": SECRET} | settings

    async def go() -> Accepted:
        provider = WebhookProvider(provider_settings(**values), clock=SimulatedClock(START))
        try:
            return await provider.send(message)
        finally:
            await provider.aclose()

    return run(go())


def order_shipped(url: str, **data: object) -> Delivery:
    payload = {"event": "order_shipped", "order": "A-1001", "contact": {"email": "ada@example.com"}}
    return delivery(MessageChannel.WEBHOOK, url, "", data={"url": url, "payload": payload} | data)


def test_the_payload_is_posted_signed_with_the_idempotency_key() -> None:
    with Receiver() as receiver:
        message = order_shipped(receiver.url)
        accepted = send(message)

    assert accepted == Accepted(provider="webhook")
    ((headers, body),) = receiver.requests
    assert json.loads(body) == message.rendered.data["payload"]
    assert headers["Idempotency-Key"] == message.idempotency_key
    assert headers["Funnelwise-Signature"] == sign(SECRET, int(START.timestamp()), body)


def test_a_templates_own_secret_signs_in_place_of_the_setting_and_none_leaves_it_unsigned() -> None:
    with Receiver() as receiver:
        send(order_shipped(receiver.url, secret="template-secret"))
        send(order_shipped(receiver.url), webhook_channel_secret=None)

    (signed_headers, signed_body), (unsigned_headers, _) = receiver.requests
    assert signed_headers["Funnelwise-Signature"] == sign(
        "template-secret", int(START.timestamp()), signed_body
    )
    assert "Funnelwise-Signature" not in unsigned_headers


def test_a_private_address_is_refused_unless_the_settings_allow_it() -> None:
    with Receiver() as receiver, pytest.raises(ProviderError) as refused:
        send(order_shipped(receiver.url), webhook_allow_private=False)

    assert not refused.value.retryable
    assert refused.value.reason == (
        "127.0.0.1 resolves to 127.0.0.1, an internal address; webhooks go only to public addresses "
        "unless FUNNELWISE_WEBHOOK_ALLOW_PRIVATE=true"
    )
    assert receiver.requests == []


def test_server_trouble_is_retried_and_a_refusal_or_a_redirect_is_final() -> None:
    with Receiver(statuses=[503, 410, 302]) as receiver:
        answers = []
        for _ in range(3):
            with pytest.raises(ProviderError) as failed:
                send(order_shipped(receiver.url))
            answers.append((failed.value.retryable, failed.value.reason))

    assert answers == [
        (True, "webhook to 127.0.0.1 answered 503"),
        (False, "webhook to 127.0.0.1 answered 410"),
        (False, "webhook to 127.0.0.1 answered 302, a redirect; redirects are not followed"),
    ]


def test_a_url_that_is_no_http_url_is_refused() -> None:
    with pytest.raises(ProviderError) as refused:
        send(order_shipped("ftp://example.com/hook"))

    assert not refused.value.retryable
    assert refused.value.reason.startswith("webhook URL 'ftp://example.com/hook' cannot be used")
