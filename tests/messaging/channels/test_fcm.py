"""FCM HTTP v1 delivers push messages; a local Google token endpoint and FCM check every request."""

from datetime import UTC, datetime, timedelta

import pytest

from funnelwise.clock import SimulatedClock
from funnelwise.messaging.channels.fcm import FcmProvider
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError
from tests.messaging.channels.fake_fcm import PROJECT_ID, FakeFcm, quota_exceeded, unavailable
from tests.messaging.channels.support import delivery, provider_settings, run

PHONE = "fcm-token-of-ada-phone"
BROWSER = "fcm-token-of-ada-browser"


@pytest.fixture
def fcm() -> FakeFcm:
    with FakeFcm() as fake:
        fake.registered_tokens |= {PHONE, BROWSER}
        yield fake


def push(to: str, text: str = "장바구니에 담은 상품이 기다려요", **fields: object) -> Delivery:
    return delivery(MessageChannel.PUSH, to, text, **fields)


def send_all(
    fake: FakeFcm, *messages: Delivery, clock: SimulatedClock | None = None
) -> list[Accepted | ProviderError]:
    """Sends with one provider, in order, as the sender does; each answer or error."""

    async def go() -> list[Accepted | ProviderError]:
        provider = FcmProvider(
            provider_settings(fcm_service_account_json=fake.service_account_json(), fcm_base_url=fake.url),
            clock=clock,
        )
        answers: list[Accepted | ProviderError] = []
        try:
            for message in messages:
                try:
                    answers.append(await provider.send(message))
                except ProviderError as exc:
                    answers.append(exc)
        finally:
            await provider.aclose()
        return answers

    return run(go())


def test_a_push_goes_to_the_token_with_its_title_body_and_string_data(fcm: FakeFcm) -> None:
    message = push(PHONE, subject="잊으신 건 없나요?", data={"data": {"cart_id": "c-7", "items": 2}})

    (accepted,) = send_all(fcm, message)

    assert accepted == Accepted(provider="fcm", provider_message_id=accepted.provider_message_id)
    assert accepted.provider_message_id.startswith(f"projects/{PROJECT_ID}/messages/0:")
    assert fcm.sent == [
        {
            "token": PHONE,
            "notification": {"body": "장바구니에 담은 상품이 기다려요", "title": "잊으신 건 없나요?"},
            "data": {"cart_id": "c-7", "items": "2"},
        }
    ]


def test_a_web_push_carries_its_link_for_the_browser_to_open(fcm: FakeFcm) -> None:
    send_all(fcm, push(BROWSER, data={"title": "새 글", "link": "https://shop.example.com/new"}))

    assert fcm.sent[0]["webpush"] == {"fcm_options": {"link": "https://shop.example.com/new"}}
    assert fcm.sent[0]["notification"]["title"] == "새 글"


def test_the_signed_jwt_is_exchanged_once_and_the_token_kept_until_it_nearly_expires(fcm: FakeFcm) -> None:
    clock = SimulatedClock(datetime.now(UTC))
    messages = [push(PHONE), push(BROWSER)]

    answers = send_all(fcm, *messages, clock=clock)
    assert all(isinstance(a, Accepted) for a in answers)
    assert len(fcm.issued) == 1
    sends = [r for r in fcm.requests if r.path.endswith("messages:send")]
    assert {r.headers["authorization"] for r in sends} == {f"Bearer {fcm.issued[0]}"}


def test_a_token_about_to_expire_is_replaced_before_use(fcm: FakeFcm) -> None:
    # Started in the past, so that the second JWT is signed at the real time Google checks it by.
    clock = SimulatedClock(datetime.now(UTC) - timedelta(seconds=3599 - 59))

    async def go() -> None:
        provider = FcmProvider(
            provider_settings(fcm_service_account_json=fcm.service_account_json(), fcm_base_url=fcm.url),
            clock=clock,
        )
        await provider.send(push(PHONE))
        clock.advance(timedelta(seconds=3599 - 59))
        await provider.send(push(PHONE))
        await provider.aclose()

    run(go())
    assert len(fcm.issued) == 2


def test_an_unregistered_token_is_final_and_gone(fcm: FakeFcm) -> None:
    (refused,) = send_all(fcm, push("a-token-the-app-uninstalled"))

    assert isinstance(refused, ProviderError)
    assert (refused.retryable, refused.address_gone, refused.reason) == (
        False,
        True,
        "FCM 404 UNREGISTERED: Requested entity was not found. (the push token is dropped)",
    )


def test_an_invalid_argument_is_final(fcm: FakeFcm) -> None:
    (refused,) = send_all(fcm, push(BROWSER, data={"link": "http://shop.example.com/"}))

    assert isinstance(refused, ProviderError)
    assert not refused.retryable
    assert refused.reason.startswith("FCM 400 INVALID_ARGUMENT: The link must be HTTPS")
    assert not refused.address_gone  # it may be the message that is wrong, not the token


def test_unavailable_and_quota_exceeded_are_tried_again_later(fcm: FakeFcm) -> None:
    fcm.force(200, {"access_token": "ya29.issued-by-force", "expires_in": 3599})
    fcm.issued.append("ya29.issued-by-force")
    fcm.force(503, unavailable())
    fcm.force(429, quota_exceeded())

    first, second, third = send_all(fcm, push(PHONE), push(PHONE), push(PHONE))

    assert isinstance(first, ProviderError) and isinstance(second, ProviderError)
    assert (first.retryable, first.reason) == (
        True,
        "FCM 503 UNAVAILABLE: The service is currently unavailable.",
    )
    assert (second.retryable, second.reason) == (True, "FCM 429 QUOTA_EXCEEDED: Quota exceeded.")
    assert isinstance(third, Accepted)


def test_a_revoked_access_token_is_retried_later_with_a_new_one(fcm: FakeFcm) -> None:
    async def go() -> tuple[ProviderError, Accepted]:
        provider = FcmProvider(
            provider_settings(fcm_service_account_json=fcm.service_account_json(), fcm_base_url=fcm.url)
        )
        await provider.send(push(PHONE))
        fcm.revoked.add(fcm.issued[0])
        with pytest.raises(ProviderError) as refused:
            await provider.send(push(PHONE))
        accepted = await provider.send(push(PHONE))
        await provider.aclose()
        return refused.value, accepted

    refused, accepted = run(go())
    assert refused.retryable and refused.reason.startswith("FCM 401 UNAUTHENTICATED")
    assert isinstance(accepted, Accepted)
    assert len(fcm.issued) == 2


def test_a_key_the_token_endpoint_does_not_know_is_refused_without_sending(fcm: FakeFcm) -> None:
    stranger = FakeFcm()  # another key pair: its signature does not verify with fcm's public key
    account = stranger.service_account_json().replace(stranger.url, fcm.url)

    async def go() -> ProviderError:
        provider = FcmProvider(provider_settings(fcm_service_account_json=account, fcm_base_url=fcm.url))
        with pytest.raises(ProviderError) as refused:
            await provider.send(push(PHONE))
        await provider.aclose()
        return refused.value

    refused = run(go())
    stranger.server.server_close()
    assert not refused.retryable
    assert (
        refused.reason
        == "FCM token exchange answered 400: invalid_grant: Invalid JWT: Signature verification failed"
    )
    assert fcm.sent == []


def test_a_missing_service_account_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="FUNNELWISE_FCM_SERVICE_ACCOUNT_FILE"):
        FcmProvider(provider_settings())
    with pytest.raises(ValueError, match="lacks private_key"):
        FcmProvider(provider_settings(fcm_service_account_json='{"project_id": "p", "client_email": "e"}'))
