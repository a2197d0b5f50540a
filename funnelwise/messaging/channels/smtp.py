"""Email over SMTP: a pool of kept-open aiosmtplib connections, a send rate limit and DKIM signing."""

import asyncio
import time
from email.utils import parseaddr
from pathlib import Path
from typing import NoReturn

import aiosmtplib
import dkim
from aiosmtplib.protocol import PERIOD_REGEX, SMTPProtocol, normalize_message_line_endings

from funnelwise.clock import Clock, SystemClock
from funnelwise.config import Settings, SettingsError
from funnelwise.messaging.channels.http_status import OutcomeUnknown
from funnelwise.messaging.channels.mime import AddressError, MessageWriter
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError

# Signed when present; DKIM-signing a header that is absent would break nothing but says nothing.
_SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


# The connection went away or stopped answering; what the server did with the message is unknown.
_DROPPED = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, ConnectionError, OSError)


class RateLimit:
    """At most `per_second` starts a second, evenly spaced (a token bucket holding one token)."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1 / per_second
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        # Each caller takes the next free slot before it sleeps, so concurrent senders queue up
        # behind one another instead of waking together.
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class DkimSigner:
    """Signs a message's bytes for one domain and selector (RSA-SHA256, relaxed/simple)."""

    def __init__(self, private_key: str, selector: str, domain: str) -> None:
        key = private_key.strip()
        if not key.startswith("-----BEGIN"):
            path = Path(key).expanduser()
            if not path.is_file():
                raise SettingsError(
                    "Config 'FUNNELWISE_DKIM_PRIVATE_KEY' is neither a PEM key nor the path of a file holding one."
                )
            key = path.read_text()
        self._key = key.encode()
        self._selector = selector.encode()
        self._domain = domain.encode()

    def sign(self, data: bytes) -> bytes:
        signature = dkim.sign(
            data,
            self._selector,
            self._domain,
            self._key,
            canonicalize=(b"relaxed", b"simple"),
            include_headers=list(_SIGNED_HEADERS),
        )
        return signature + data


def dkim_signer(settings: Settings) -> DkimSigner | None:
    """The signer the settings ask for, or None when DKIM is not configured."""
    if not settings.dkim_private_key or not settings.dkim_selector:
        return None
    domain = settings.dkim_domain or parseaddr(settings.mail_from)[1].rpartition("@")[2]
    return DkimSigner(settings.dkim_private_key, settings.dkim_selector, domain)


class _Pool:
    """Up to `size` SMTP connections, opened when first needed and kept open between messages.

    A slot is a connection or None (not opened yet, or dropped); taking a slot waits while all
    are in use. The pool belongs to one event loop; used from another, it starts over.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._slots: asyncio.Queue[aiosmtplib.SMTP | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def take(self) -> aiosmtplib.SMTP | None:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            # Connections made on a loop that has ended cannot be used or closed from this one.
            self._loop = loop
            self._slots = asyncio.Queue()
            for _ in range(self._settings.smtp_pool_size):
                self._slots.put_nowait(None)
        return await self._slots.get()

    def give_back(self, connection: aiosmtplib.SMTP | None) -> None:
        assert self._slots is not None
        self._slots.put_nowait(connection if connection is not None and connection.is_connected else None)

    async def connect(self) -> aiosmtplib.SMTP:
        settings = self._settings
        connection = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_seconds,
        )
        await connection.connect()
        if connection.is_ehlo_or_helo_needed:
            # aiosmtplib greets lazily, before its first command; the pipelined path needs the EHLO
            # answer first. Like aiosmtplib, fall back to HELO when EHLO is refused.
            try:
                await connection.ehlo()
            except aiosmtplib.SMTPHeloError:
                if not connection.is_connected:
                    raise
                await connection.helo()
        if connection.supports_extension("pipelining") and type(connection.protocol) is SMTPProtocol:
            # Same protocol, plus keeping replies that arrive while an earlier one awaits its reader.
            connection.protocol.__class__ = _PipeliningProtocol
        return connection

    async def aclose(self) -> None:
        if self._slots is None or self._loop is not asyncio.get_running_loop():
            return
        while not self._slots.empty():
            connection = self._slots.get_nowait()
            if connection is not None and connection.is_connected:
                try:
                    await connection.quit()
                except (aiosmtplib.SMTPException, OSError):
                    connection.close()
        self._slots = None


class SmtpProvider:
    """Sends email over the configured SMTP server; not idempotent (SMTP has no idempotency key)."""

    name = "smtp"
    idempotent = False

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        if not settings.smtp_host:
            raise SettingsError("Config 'FUNNELWISE_SMTP_HOST' is missing: set it to send email.")
        self._clock = clock or SystemClock()
        self._writer = MessageWriter(settings.mail_from)
        self._envelope_sender = parseaddr(settings.mail_return_path or settings.mail_from)[1]
        self._signer = dkim_signer(settings)
        self._rate = RateLimit(settings.smtp_rate_per_second) if settings.smtp_rate_per_second else None
        self._pool = _Pool(settings)

    async def send(self, delivery: Delivery) -> Accepted:
        rendered = delivery.rendered
        if rendered.channel != MessageChannel.EMAIL:
            raise ProviderError(f"the smtp provider sends email, not {rendered.channel}", retryable=False)
        try:
            envelope = self._writer.write(delivery.message_id, rendered, self._clock.now())
        except AddressError as exc:
            raise ProviderError(str(exc), retryable=False) from exc
        data = self._signer.sign(envelope.data) if self._signer else envelope.data
        if self._rate is not None:
            await self._rate.wait()
        lease = _Lease(await self._pool.take())
        try:
            await self._pipelined(lease, envelope.recipient, data)
        finally:
            self._pool.give_back(lease.connection)
        return Accepted(provider=self.name, provider_message_id=envelope.message_id)

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def _pipelined(self, lease: "_Lease", recipient: str, data: bytes) -> None:
        """MAIL, RCPT and DATA in one write and their three replies, then the body (RFC 2920).

        A server that does not offer PIPELINING gets one command at a time (`_transaction`).

        The commands go on a kept-open connection the server may have closed meanwhile; as nothing
        was taken before the body is sent, a lost connection is replaced once, then retryable.
        """
        for attempt in (1, 2):
            connection = lease.connection
            if connection is None or not connection.is_connected:
                connection = lease.connection = await self._connect()
            protocol = connection.protocol
            if not isinstance(protocol, _PipeliningProtocol):
                # A new connection to a server that no longer offers PIPELINING.
                await self._transaction(lease, recipient, data)
                return
            size = f" SIZE={len(data)}" if connection.supports_extension("size") else ""
            commands = f"MAIL FROM:<{self._envelope_sender}>{size}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n"
            try:
                replies = await protocol.exchange(commands.encode(), 3, connection.timeout)
                break
            except _DROPPED as exc:
                lease.drop()
                if attempt == 2:
                    raise ProviderError(f"connection to the SMTP server lost: {exc}", retryable=True) from exc
        mail, rcpt, start = replies
        if mail.code != 250 or rcpt.code not in (250, 251) or start.code != 354:
            refused = next(r for r in (mail, rcpt, start) if r.code not in (250, 251, 354))
            if start.code == 354:
                # A server that took DATA after refusing the envelope gets an empty message to refuse.
                await self._end_empty_data(lease, protocol)
            await self._refused(lease, refused)
        if not protocol.is_connected:
            lease.drop()
            raise ProviderError(
                "connection to the SMTP server lost before the message was sent", retryable=True
            )
        body = _dot_stuffed(data)
        try:
            (reply,) = await protocol.exchange(body, 1, connection.timeout)
        except _DROPPED as exc:
            lease.drop()
            # The server may have taken the message before the line dropped: never send it twice.
            raise OutcomeUnknown(
                "connection to the SMTP server lost during DATA, so whether it took the message is "
                f"unknown; not retried: {exc}"
            ) from exc
        if reply.code != 250:
            await self._refused(lease, reply)

    async def _end_empty_data(self, lease: "_Lease", protocol: "_PipeliningProtocol") -> None:
        try:
            await protocol.exchange(b".\r\n", 1, lease.connection.timeout if lease.connection else None)
        except _DROPPED:
            lease.drop()

    async def _refused(self, lease: "_Lease", reply: aiosmtplib.SMTPResponse) -> NoReturn:
        """Raises the refusal; the connection is reset for the next message, or dropped after a 421."""
        if lease.connection is not None:
            if reply.code == 421:
                lease.drop()
            else:
                await _reset(lease.connection)
        raise _refusal(aiosmtplib.SMTPResponseException(reply.code, reply.message))

    async def _transaction(self, lease: "_Lease", recipient: str, data: bytes) -> None:
        """MAIL, RCPT, DATA on the leased connection, which is left in `lease` (None once lost)."""
        connection = await self._mail_from(lease, len(data))
        try:
            await connection.rcpt(recipient)
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(connection)
            raise _refusal(exc) from exc
        except _DROPPED as exc:
            lease.drop()
            raise ProviderError(f"connection to the SMTP server lost: {exc}", retryable=True) from exc
        try:
            await connection.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(connection)
            raise _refusal(exc) from exc
        except _DROPPED as exc:
            lease.drop()
            # The server may have taken the message before the line dropped: never send it twice.
            raise OutcomeUnknown(
                "connection to the SMTP server lost during DATA, so whether it took the message is "
                f"unknown; not retried: {exc}"
            ) from exc

    async def _mail_from(self, lease: "_Lease", size: int) -> aiosmtplib.SMTP:
        """Starts a transaction; a kept-open connection the server has since closed is replaced once."""
        if lease.connection is not None and lease.connection.is_connected:
            try:
                await self._mail(lease.connection, size)
                return lease.connection
            except _DROPPED:
                # Nothing was sent yet, so a new connection may carry this message.
                lease.drop()
        lease.connection = await self._connect()
        try:
            await self._mail(lease.connection, size)
        except _DROPPED as exc:
            lease.drop()
            raise ProviderError(f"connection to the SMTP server lost: {exc}", retryable=True) from exc
        return lease.connection

    async def _mail(self, connection: aiosmtplib.SMTP, size: int) -> None:
        options = [f"SIZE={size}"] if connection.supports_extension("size") else []
        try:
            await connection.mail(self._envelope_sender, options=options)
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(connection)
            raise _refusal(exc) from exc

    async def _connect(self) -> aiosmtplib.SMTP:
        try:
            return await self._pool.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # A refused greeting, login or STARTTLS is the server's or our settings' state, not this
            # message's: it may work later.
            raise ProviderError(f"cannot connect to the SMTP server: {exc}", retryable=True) from exc


class _PipeliningProtocol(SMTPProtocol):
    """aiosmtplib's protocol, able to read the replies to several commands sent in one write.

    aiosmtplib expects one reply per command and drops data that arrives while a parsed reply
    awaits its reader; here, during `exchange`, that data is kept for the next reply instead.
    """

    _pipelining = False

    def data_received(self, data: bytes) -> None:
        waiter = self._response_waiter
        if self._pipelining and waiter is not None and waiter.done():
            self._buffer.extend(data)
            return
        super().data_received(data)

    async def exchange(
        self, data: bytes, replies: int, timeout: float | None
    ) -> list[aiosmtplib.SMTPResponse]:
        """Writes `data` and reads `replies` replies; the connection is lost or closed on failure.

        Only the lease holder uses the connection, so no other command can interleave.
        """
        self._pipelining = True
        try:
            self._response_pending = True
            self.write(data)
            read: list[aiosmtplib.SMTPResponse] = []
            while len(read) < replies:
                reply = self._read_response_from_buffer()
                if reply is None:
                    self._response_pending = True
                    reply = await self.read_response(timeout=timeout)
                read.append(reply)
            return read
        except aiosmtplib.SMTPTimeoutError:
            # Out of step with the server: a reply given up on could still arrive.
            self._close()
            raise
        except aiosmtplib.SMTPResponseException as exc:
            self._close()
            raise aiosmtplib.SMTPServerDisconnected(f"unreadable reply: {exc.message}") from exc
        finally:
            self._pipelining = False

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Lease:
    """The pool slot a send holds: the connection it uses, replaced or dropped on the way."""

    def __init__(self, connection: aiosmtplib.SMTP | None) -> None:
        self.connection = connection

    def drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, a dot doubled at a line's start, the end line.

    The writer's output has CRLF line ends already; counting them is much cheaper than aiosmtplib's
    regular expressions, which remain for any other input.
    """
    if data.endswith(b"\r\n") and data.count(b"\r") == data.count(b"\n") == data.count(b"\r\n"):
        body = data.replace(b"\r\n.", b"\r\n..")
        if body.startswith(b"."):
            body = b"." + body
    else:
        body = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data))
    return body + b".\r\n"


def _refusal(exc: aiosmtplib.SMTPResponseException) -> ProviderError:
    """A 5xx reply is final for this message; a 4xx one asks us to try again later."""
    return ProviderError(f"{exc.code} {exc.message}", retryable=not 500 <= exc.code < 600)


async def _reset(connection: aiosmtplib.SMTP) -> None:
    """Clears the refused transaction so the connection can carry the next message."""
    try:
        await connection.rset()
    except (aiosmtplib.SMTPException, OSError):
        connection.close()
