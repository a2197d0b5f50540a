"""Double opt-in: the mail with the signed link that confirms an email consent, queued in the outbox."""

from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.db.dialect import insert
from funnelwise.messaging.compliance import EMAIL_CONFIRMATION
from funnelwise.messaging.consent import ConsentOut, confirmation_token
from funnelwise.messaging.message import SYSTEM_PREFIX, MessageChannel, Purpose
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.tracking.forms.definition import FormIn
from funnelwise.tracking.forms.locale import text
from funnelwise.tracking.log import record_event

TEMPLATE = f"{SYSTEM_PREFIX}{EMAIL_CONFIRMATION}"
SOURCE = "form"


def confirmation_link(ctx: Context, consent_id: int) -> str:
    token = confirmation_token(ctx.settings, consent_id)
    return f"{ctx.settings.public_url.rstrip('/')}/f/confirm/{token}"


def request_confirmation(session: Session, ctx: Context, form: FormIn, consent: ConsentOut, to: str) -> None:
    """Queues the confirmation mail of a pending consent to `to`, logged as "Email Confirmation Requested".

    It leaves with the outbox's guarantees (once, retried, never to a suppressed address), in the
    form's language, after the transaction that saved the consent commits.
    """
    link = confirmation_link(ctx, consent.id)
    subject = text("mail_subject", form.locale).format(name=form.name)
    body = text("mail_body", form.locale).format(link=link, wording=consent.wording)
    now = ctx.clock.now()
    queued = session.execute(
        insert(session, OutboxMessage.__table__)
        .values(
            idempotency_key=f"optin-{consent.id}-{now:%Y%m%dT%H%M%S.%fZ}",
            contact_id=consent.contact_id,
            channel=MessageChannel.EMAIL.value,
            template=TEMPLATE,
            status=OutboxStatus.QUEUED.value,
            source=SOURCE,
            variables={"to": to, "subject": subject, "text": body, "link": link, "consent_id": consent.id},
            purpose=Purpose.INFORMATIONAL.value,
            due_at=now,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage.__table__.c.id)
    ).scalar()
    record_event(
        session,
        ctx,
        consent.contact_id,
        "Email Confirmation Requested",
        {"consent_id": consent.id, "to": to, "subject": subject, "link": link, "outbox_message_id": queued},
    )
