"""A local HTTP gateway for the generic adapter: it checks the API key header and answers with an id."""

import itertools
from typing import Any

from tests.messaging.channels.local_server import LocalServer, Request

API_KEY = "gateway-key-123"


class FakeGateway(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.taken: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def answer(self, request: Request) -> tuple[int, Any]:
        if request.headers.get("x-api-key") != API_KEY:
            return 401, {"error": "unknown API key"}
        message = request.json()
        if request.headers.get("idempotency-key") != message.get("id"):
            return 400, {"error": "Idempotency-Key must equal the message id"}
        # A repeated key returns the first answer: the send is idempotent.
        if message["id"] not in self.taken:
            self.taken[message["id"]] = message | {"gateway_id": f"gw-{next(self._ids)}"}
        return 202, {"id": self.taken[message["id"]]["gateway_id"], "status": "queued"}
