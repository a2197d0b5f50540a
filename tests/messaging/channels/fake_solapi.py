"""A local stand-in for Solapi's REST API v4 `send-many/detail`, checking what the real one checks.

It verifies the HMAC-SHA256 Authorization header (key, signature over date + salt, a date within
15 minutes, no salt used twice), refuses an unregistered sender number, an unknown Kakao channel or
template and a template's variables left out, and answers in Solapi's shapes.
"""

import hashlib
import hmac
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.messaging.channels.local_server import LocalServer, Request

API_KEY = "NCSFUNNELWISETEST"
API_SECRET = "solapi-test-secret-0123456789abcdef"
SENDER = "0212345678"
PF_ID = "KA01PF2611220100000000000000TEST"
# An approved AlimTalk template: its id and the variables its text holds.
ORDER_TEMPLATE = "KA01TP2611220100000000ORDERSHIP"
ORDER_VARIABLES = {"#{name}", "#{order_no}"}
_HEADER = re.compile(
    r"^HMAC-SHA256 apiKey=(?P<key>[^,]+), date=(?P<date>[^,]+), salt=(?P<salt>[^,]+), signature=(?P<sig>[0-9a-f]+)$"
)


class FakeSolapi(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.accepted: list[dict[str, Any]] = []
        self._salts: set[str] = set()
        self._ids = itertools.count(1)

    def answer(self, request: Request) -> tuple[int, Any]:
        if request.path != "/messages/v4/send-many/detail":
            return 404, {"errorCode": "NotFound", "errorMessage": f"no resource {request.path}"}
        refused = self._authentication_error(request.headers.get("authorization", ""))
        if refused:
            return 401, {"errorCode": refused[0], "errorMessage": refused[1]}
        body = request.json()
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, {"errorCode": "ValidationError", "errorMessage": "messages must be a non-empty array"}
        taken, failed = [], []
        for message in messages:
            message_id = f"M4V20261122100000{next(self._ids):03d}ABCDEFGHIJKLMN"
            problem = _problem(message)
            if problem:
                failed.append(
                    {
                        "to": message.get("to"),
                        "from": message.get("from"),
                        "type": message.get("type"),
                        "statusMessage": problem[1],
                        "country": message.get("country", "82"),
                        "messageId": message_id,
                        "statusCode": problem[0],
                        "accountId": "26112201000000",
                        "customFields": message.get("customFields"),
                    }
                )
                continue
            self.accepted.append(message)
            taken.append(
                {
                    "messageId": message_id,
                    "statusCode": "2000",
                    "statusMessage": "정상 접수(이통사로 접수 예정) ",
                    "customFields": message.get("customFields"),
                }
            )
        answer = {
            "failedMessageList": failed,
            "groupInfo": {
                "groupId": "G4V20261122100000ABCDEFGHIJKLMN",
                "status": "SENDING",
                "count": {
                    "total": len(messages),
                    "registeredSuccess": len(taken),
                    "registeredFailed": len(failed),
                },
            },
        }
        if body.get("showMessageList"):
            answer["messageList"] = taken
        return 200, answer

    def _authentication_error(self, header: str) -> tuple[str, str] | None:
        found = _HEADER.match(header)
        if not found:
            return (
                "InvalidAuthorization",
                "Authorization must be 'HMAC-SHA256 apiKey=…, date=…, salt=…, signature=…'",
            )
        if found["key"] != API_KEY:
            return "InvalidAPIKey", "unknown API key"
        date = datetime.fromisoformat(found["date"].replace("Z", "+00:00"))
        if abs(datetime.now(UTC) - date) > timedelta(minutes=15):
            return "RequestTimeTooSkewed", "date is more than 15 minutes away"
        if not 12 <= len(found["salt"]) <= 64:
            return "InvalidSalt", "salt must be 12 to 64 characters"
        expected = hmac.new(API_SECRET.encode(), (found["date"] + found["salt"]).encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), found["sig"]):
            return "SignatureDoesNotMatch", "signature does not match"
        if found["salt"] in self._salts:
            return "DuplicatedSignature", "this signature was used already"
        self._salts.add(found["salt"])
        return None


def _problem(message: dict[str, Any]) -> tuple[str, str] | None:
    """Why Solapi would refuse to take this message, as (statusCode, statusMessage)."""
    if not re.fullmatch(r"\d{8,15}", str(message.get("to", ""))):
        return "1022", "수신번호 형식 오류"
    kakao = message.get("kakaoOptions")
    if kakao is None:
        if message.get("from") != SENDER:
            return "1062", "등록되지 않은 발신번호"
        return None
    if kakao.get("pfId") != PF_ID:
        return "3008", "등록되지 않은 카카오 채널(pfId)"
    if message.get("type") == "ATA":
        if kakao.get("templateId") != ORDER_TEMPLATE:
            return "3034", "등록되지 않은 알림톡 템플릿"
        if set(kakao.get("variables", {})) != ORDER_VARIABLES:
            return "3035", "템플릿 변수 불일치"
    return None
