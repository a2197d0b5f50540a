"""Sending one email over SMTP (the messaging outbox will build on this)."""

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import aiosmtplib

from funnelwise.config import SettingsError
from funnelwise.context import Context

SMTP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None


def build_message(ctx: Context, mail: Mail) -> EmailMessage:
    """A UTF-8 message from `mail_from`, dated by the clock, with an HTML part when given."""
    message = EmailMessage()
    message["From"] = ctx.settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(ctx.clock.now())
    sender_domain = parseaddr(ctx.settings.mail_from)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=sender_domain)
    message.set_content(mail.text, charset="utf-8")
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html", charset="utf-8")
    return message


def send_mail(ctx: Context, mail: Mail) -> None:
    """Hands the mail to the configured SMTP server; raises aiosmtplib.SMTPException or OSError."""
    settings = ctx.settings
    if not settings.smtp_host:
        raise SettingsError("Config 'FUNNELWISE_SMTP_HOST' is missing: set it to send email.")
    message = build_message(ctx, mail)
    # Called from worker threads, which have no event loop of their own.
    asyncio.run(
        aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=SMTP_TIMEOUT_SECONDS,
        )
    )
