"""An SMTP sink that can refuse recipients and drop connections, and DKIM keys made by openssl."""

import asyncio
from pathlib import Path
from typing import Any

from dkim.dknewkey import ExtractRSADnsPublicKey, GenRSAKeys

from funnelwise.config import Settings
from funnelwise.messaging.message import Delivery, MessageChannel, Rendered
from tests.messaging.support import SmtpSink

MAIL_FROM = "펀널와이즈 <hello@funnelwise.example>"


class PickySink(SmtpSink):
    """Refuses the recipients in `refuse` with their reply; remembers which connection sent what."""

    def __init__(self, *, pipelining: bool = False) -> None:
        super().__init__()
        self.refuse: dict[str, str] = {}
        self.peers: list[tuple[str, int]] = []
        self.greeted: list[tuple[str, int]] = []
        self.drop_after_reply = False
        self.drop_before_reply = False
        self.drop_at_rcpt = False
        # aiosmtpd reads pipelined commands fine but does not say so in its EHLO reply.
        self.pipelining = pipelining

    async def handle_EHLO(
        self, _server: Any, session: Any, _envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        self.greeted.append(tuple(session.peer))
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if self.drop_at_rcpt:
            server.transport.close()
            return "250 never heard"
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop_before_reply:
            server.transport.close()
            return "250 never heard"
        self.peers.append(tuple(session.peer))
        reply = await super().handle_DATA(server, session, envelope)
        if self.drop_after_reply:
            # After the reply is written: the next message finds a connection the server closed.
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return reply


def smtp_settings(sink: SmtpSink, **more: Any) -> Settings:
    return Settings(
        secret_key="smtp-test-secret",
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        smtp_security="none",
        mail_from=MAIL_FROM,
        public_url="https://fw.example",
        _env_file=None,
        **more,
    )


def email(message_id: int, to: str, **fields: Any) -> Delivery:
    fields.setdefault("subject", "(광고) 11월 신상품 안내")
    fields.setdefault("text", "안녕하세요, 민수님.\n새 상품을 소개합니다.\n")
    return Delivery(message_id, f"test-{message_id}", Rendered(MessageChannel.EMAIL, to, **fields))


def dkim_key(directory: Path) -> tuple[str, bytes]:
    """A new 2048-bit RSA private key (PEM) and the DNS TXT record that publishes its public half."""
    private, record = directory / "dkim.key", directory / "dkim.dns"
    GenRSAKeys(str(private), verbose=False)
    ExtractRSADnsPublicKey(str(private), str(record), verbose=False)
    return private.read_text(), record.read_bytes().strip()
