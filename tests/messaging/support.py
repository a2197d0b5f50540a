"""A real SMTP server that keeps what it receives, and a real app server with mail settings."""

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """An aiosmtpd server on a free port; every message it accepts lands in `messages`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        # Replies given instead of accepting, one per message, before it accepts again.
        self.refusals: list[str] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """The messages once `count` have arrived (mail is sent after the answer, so it may lag)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
            time.sleep(0.02)
        return self.messages

    def clear(self) -> None:
        self.messages.clear()
        self.recipients.clear()

    def __enter__(self) -> "SmtpSink":
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[str]:
    """The app on a real port in a background thread, as the shared live_server runs."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def queue_message(
    session: Session,
    ctx: Context,
    contact_id: int,
    template: str,
    channel: str = "email",
    **fields: Any,
) -> int:
    """An outbox row due now, as a journey's send step or a broadcast writes it; its id."""
    now = ctx.clock.now()
    row = OutboxMessage(
        idempotency_key=fields.pop("idempotency_key", f"test-{uuid.uuid4()}"),
        contact_id=contact_id,
        channel=channel,
        template=template,
        status=OutboxStatus.QUEUED,
        source=fields.pop("source", "workflow"),
        variables=fields.pop("variables", {}),
        due_at=fields.pop("due_at", now),
        attempts=0,
        created_at=now,
        updated_at=now,
        **fields,
    )
    session.add(row)
    session.flush()
    return row.id
