"""Double opt-in: the mail with the signed link that confirms an email consent, and sending it."""

import logging

import aiosmtplib
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.messaging.consent import ConsentOut, confirmation_token
from funnelwise.messaging.mail import Mail, send_mail
from funnelwise.tracking.forms.definition import FormIn
from funnelwise.tracking.forms.locale import text
from funnelwise.tracking.log import record_event

logger = logging.getLogger(__name__)


def confirmation_link(ctx: Context, consent_id: int) -> str:
    token = confirmation_token(ctx.settings, consent_id)
    return f"{ctx.settings.public_url.rstrip('/')}/f/confirm/{token}"


def request_confirmation(session: Session, ctx: Context, form: FormIn, consent: ConsentOut, to: str) -> Mail:
    """The confirmation mail for a pending consent, logged as "Email Confirmation Requested".

    The caller sends it after the transaction commits, so a link never names an unsaved consent.
    """
    link = confirmation_link(ctx, consent.id)
    subject = text("mail_subject", form.locale).format(name=form.name)
    body = text("mail_body", form.locale).format(link=link, wording=consent.wording)
    # Until the messaging outbox exists, the log is the record of this mail (and, without an
    # SMTP server, the only place its link can be found).
    record_event(
        session,
        ctx,
        consent.contact_id,
        "Email Confirmation Requested",
        {
            "consent_id": consent.id,
            "to": to,
            "subject": subject,
            "link": link,
            "delivery": "smtp" if ctx.settings.smtp_host else "none",
        },
    )
    return Mail(to=to, subject=subject, text=body)


def deliver(ctx: Context, mails: list[Mail]) -> None:
    """Sends the mails, or logs them when no SMTP host is configured; a failed send is logged."""
    for mail in mails:
        if not ctx.settings.smtp_host:
            logger.info("no SMTP host configured; not sent to %s: %s\n%s", mail.to, mail.subject, mail.text)
            continue
        try:
            send_mail(ctx, mail)
        except (aiosmtplib.SMTPException, OSError):
            logger.exception("could not send %r to %s", mail.subject, mail.to)
