"""Firebase Cloud Messaging HTTP v1: mobile and web push, to one registration token per message.

The service account's key signs a JWT (RS256) that its `token_uri` exchanges for an OAuth2 access
token (the `firebase.messaging` scope), kept until a minute before it expires. Messages go to
`POST {fcm_base_url}/v1/projects/{project_id}/messages:send`. FCM takes no idempotency key, so
this provider is not idempotent.

An `UNREGISTERED` or `INVALID_ARGUMENT` answer is final. After `UNREGISTERED` (the app was
uninstalled: the token is gone) the sender drops the contact's `push_token`; `INVALID_ARGUMENT`
may be about the message rather than the token, so the token stays.
"""

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt

from funnelwise.clock import Clock, SystemClock
from funnelwise.config import Settings
from funnelwise.messaging.channels.http_status import body_json, retryable_status, short_text, transport_error
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError, Rendered

NAME = "fcm"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = timedelta(hours=1)
# A token this close to its end is replaced before use rather than risk a 401 mid-send.
REFRESH_MARGIN = timedelta(seconds=60)
TIMEOUT_SECONDS = 15
# FCM's error codes (details[].errorCode) after which the same message will never go through.
FINAL_CODES = frozenset({"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH", "THIRD_PARTY_AUTH_ERROR"})
RETRY_CODES = frozenset({"UNAVAILABLE", "INTERNAL", "QUOTA_EXCEEDED"})


@dataclass(frozen=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key: str
    private_key_id: str | None
    token_uri: str


def load_service_account(settings: Settings) -> ServiceAccount:
    """The service account from `fcm_service_account_json` or `fcm_service_account_file`."""
    if settings.fcm_service_account_json:
        text, where = settings.fcm_service_account_json, "FUNNELWISE_FCM_SERVICE_ACCOUNT_JSON"
    elif settings.fcm_service_account_file:
        where = str(settings.fcm_service_account_file)
        try:
            text = settings.fcm_service_account_file.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read the FCM service account file {where}: {exc}") from None
    else:
        raise ValueError(
            "Config 'FUNNELWISE_FCM_SERVICE_ACCOUNT_FILE' (or _JSON) is missing: FCM needs a service account key"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the FCM service account in {where} is not JSON: {exc}") from None
    missing = [k for k in ("project_id", "client_email", "private_key") if not data.get(k)]
    if missing:
        raise ValueError(f"the FCM service account in {where} lacks {', '.join(missing)}")
    return ServiceAccount(
        project_id=data["project_id"],
        client_email=data["client_email"],
        private_key=data["private_key"],
        private_key_id=data.get("private_key_id"),
        token_uri=data.get("token_uri") or GOOGLE_TOKEN_URI,
    )


class FcmProvider:
    """Sends `push` messages through FCM HTTP v1."""

    name = NAME
    idempotent = False
    channels = frozenset({MessageChannel.PUSH})

    def __init__(
        self, settings: Settings, client: httpx.AsyncClient | None = None, *, clock: Clock | None = None
    ) -> None:
        self._account = load_service_account(settings)
        self._url = (
            f"{settings.fcm_base_url.rstrip('/')}/v1/projects/{self._account.project_id}/messages:send"
        )
        self._clock = clock or SystemClock()
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS)
        self._token: str | None = None
        self._token_until: datetime | None = None
        # Concurrent sends wait for one token exchange instead of each starting their own.
        self._token_lock = asyncio.Lock()

    @staticmethod
    def is_configured(settings: Settings) -> bool:
        return bool(settings.fcm_service_account_json or settings.fcm_service_account_file)

    async def send(self, delivery: Delivery) -> Accepted:
        body = {"message": fcm_message(delivery.rendered)}
        token = await self._access_token()
        try:
            response = await self._client.post(
                self._url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.TransportError as exc:
            raise transport_error("FCM", exc, idempotent=self.idempotent) from None
        if response.is_success:
            answer = body_json(response)
            name = answer.get("name") if isinstance(answer, dict) else None
            return Accepted(provider=NAME, provider_message_id=name)
        if response.status_code == 401 and _fcm_code(response) is None:
            # Our access token was refused (revoked, or expired early): get a new one next time.
            self._token = None
        raise _refusal(response)

    async def _access_token(self) -> str:
        async with self._token_lock:
            now = self._clock.now()
            if self._token is None or self._token_until is None or now >= self._token_until - REFRESH_MARGIN:
                self._token, lifetime = await self._exchange(now)
                self._token_until = now + lifetime
            return self._token

    async def _exchange(self, now: datetime) -> tuple[str, timedelta]:
        """Trades a freshly signed JWT for an access token at the service account's token URI."""
        claims = {
            "iss": self._account.client_email,
            "scope": SCOPE,
            "aud": self._account.token_uri,
            "iat": int(now.timestamp()),
            "exp": int((now + ASSERTION_LIFETIME).timestamp()),
        }
        headers = {"kid": self._account.private_key_id} if self._account.private_key_id else None
        try:
            assertion = jwt.encode(claims, self._account.private_key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError) as exc:
            raise ProviderError(
                f"FCM: the service account's private key cannot sign: {exc}", retryable=False
            ) from None
        try:
            response = await self._client.post(
                self._account.token_uri, data={"grant_type": JWT_BEARER, "assertion": assertion}
            )
        except httpx.TransportError as exc:
            # No message has left yet: trying again later cannot send anything twice.
            raise ProviderError(f"FCM token exchange: {type(exc).__name__}: {exc}", retryable=True) from None
        answer = body_json(response)
        if response.is_success and isinstance(answer, dict) and answer.get("access_token"):
            return str(answer["access_token"]), timedelta(seconds=int(answer.get("expires_in", 3600)))
        if isinstance(answer, dict) and answer.get("error"):
            reason = f"{answer['error']}: {answer.get('error_description', '')}".strip(": ")
        else:
            reason = short_text(response)
        raise ProviderError(
            f"FCM token exchange answered {response.status_code}: {reason}",
            retryable=retryable_status(response.status_code),
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def fcm_message(rendered: Rendered) -> dict[str, Any]:
    """The v1 `message` for one push: the token, the notification, string data, a web push link."""
    if not rendered.to:
        raise ProviderError("the contact has no push token", retryable=False)
    notification: dict[str, Any] = {"body": rendered.text}
    title = rendered.subject or rendered.data.get("title")
    if title:
        notification["title"] = str(title)
    if rendered.data.get("image"):
        notification["image"] = str(rendered.data["image"])
    message: dict[str, Any] = {"token": rendered.to, "notification": notification}
    data = rendered.data.get("data")
    if data:
        if not isinstance(data, dict):
            raise ProviderError("push data (data.data) must be an object", retryable=False)
        # FCM carries only string values in `data`.
        message["data"] = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
    link = rendered.data.get("link")
    if link:
        message["webpush"] = {"fcm_options": {"link": str(link)}}
    return message


def _fcm_code(response: httpx.Response) -> str | None:
    """FCM's own error code (UNREGISTERED, QUOTA_EXCEEDED, …) from the answer's details."""
    error = _error(response)
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return None


def _error(response: httpx.Response) -> dict[str, Any]:
    answer = body_json(response)
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, dict) else {}


def _refusal(response: httpx.Response) -> ProviderError:
    error = _error(response)
    code = _fcm_code(response) or error.get("status")
    text = error.get("message") or short_text(response)
    reason = f"FCM {response.status_code} {code}: {text}" if code else f"FCM {response.status_code}: {text}"
    if code == "UNREGISTERED":
        return ProviderError(f"{reason} (the push token is dropped)", retryable=False, address_gone=True)
    if code == "INVALID_ARGUMENT":
        reason += " (when it is the token that is invalid, it should be dropped)"
    if code in FINAL_CODES:
        return ProviderError(reason, retryable=False)
    if code in RETRY_CODES or response.status_code == 401:
        return ProviderError(reason, retryable=True)
    return ProviderError(reason, retryable=retryable_status(response.status_code))
