"""A local stand-in for Google's OAuth2 token endpoint and FCM HTTP v1 `messages:send`.

It holds the public half of a service account key it makes: the token endpoint verifies the
JWT's RS256 signature, issuer, audience and scope before it issues an access token, and
`messages:send` takes only a token it issued, for registered push tokens, in FCM's shapes.
"""

import itertools
import json
import re
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.messaging.channels.local_server import LocalServer, Request

PROJECT_ID = "funnelwise-test"
CLIENT_EMAIL = "push@funnelwise-test.iam.gserviceaccount.com"
KEY_ID = "0123456789abcdef0123456789abcdef01234567"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")


class FakeFcm(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.registered_tokens: set[str] = set()
        self.sent: list[dict[str, Any]] = []
        self._numbers = itertools.count(1)

    def service_account_json(self) -> str:
        private_pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT_ID,
                "private_key_id": KEY_ID,
                "private_key": private_pem,
                "client_email": CLIENT_EMAIL,
                "client_id": "100000000000000000001",
                "token_uri": f"{self.url}/token",
            }
        )

    def answer(self, request: Request) -> tuple[int, Any]:
        if request.path == "/token":
            return self._token(request)
        found = _SEND_PATH.match(request.path)
        if found and found["project"] == PROJECT_ID:
            return self._send(request)
        return 404, _error(404, "NOT_FOUND", f"no resource {request.path}")

    def _token(self, request: Request) -> tuple[int, Any]:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        try:
            if jwt.get_unverified_header(form.get("assertion", "")).get("kid") != KEY_ID:
                return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            claims = jwt.decode(
                form["assertion"],
                self._key.public_key(),
                algorithms=["RS256"],
                audience=f"{self.url}/token",
                issuer=CLIENT_EMAIL,
                options={"require": ["iat", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            return 400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}
        if claims.get("scope") != SCOPE or claims["exp"] - claims["iat"] > 3600:
            return 400, {"error": "invalid_scope", "error_description": "Invalid OAuth scope or lifetime"}
        token = f"ya29.fake-{next(self._numbers)}"
        self.issued.append(token)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _send(self, request: Request) -> tuple[int, Any]:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued or bearer in self.revoked:
            return 401, _error(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", fcm_code=None
            )
        message = request.json().get("message", {})
        data = message.get("data", {})
        if any(not isinstance(value, str) for value in data.values()):
            return 400, _error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data': not a string")
        link = message.get("webpush", {}).get("fcm_options", {}).get("link")
        if link is not None and not link.startswith("https://"):
            return 400, _error(400, "INVALID_ARGUMENT", "The link must be HTTPS")
        if message.get("token") not in self.registered_tokens:
            return 404, _error(404, "NOT_FOUND", "Requested entity was not found.", fcm_code="UNREGISTERED")
        self.sent.append(message)
        return 200, {"name": f"projects/{PROJECT_ID}/messages/0:17640000{next(self._numbers):04d}%31bd1c96"}


def _error(code: int, status: str, message: str, fcm_code: str | None = "") -> dict[str, Any]:
    """FCM's error body; `fcm_code` defaults to the status, None leaves the FcmError detail out."""
    details = []
    if fcm_code is not None:
        details.append(
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code or status}
        )
    return {"error": {"code": code, "message": message, "status": status, "details": details}}


def unavailable() -> dict[str, Any]:
    return _error(503, "UNAVAILABLE", "The service is currently unavailable.")


def quota_exceeded() -> dict[str, Any]:
    return _error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", fcm_code="QUOTA_EXCEEDED")
