"""KakaoTalk AlimTalk that could not be delivered goes out as an SMS with the same text."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.db.dialect import insert
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus

FALLBACK_TEMPLATE_PREFIX = "fallback:"


def fall_back_to_sms(session: Session, ctx: Context, message_id: int, reason: str) -> int | None:
    """Queues the SMS twin of a failed AlimTalk message, once; its id, or None when there is none.

    The twin renders the AlimTalk template's text (`fallback:<template>`), keeps the original's
    workflow, broadcast and variables, and its key names the original, so a second failure report
    queues nothing new.
    """
    original = session.get(OutboxMessage, message_id)
    if original is None or original.channel != MessageChannel.KAKAO:
        return None
    now = ctx.clock.now()
    key = f"{original.idempotency_key}-sms"
    session.execute(
        insert(session, OutboxMessage.__table__)
        .values(
            idempotency_key=key,
            contact_id=original.contact_id,
            channel=MessageChannel.SMS.value,
            template=f"{FALLBACK_TEMPLATE_PREFIX}{original.template}",
            status=OutboxStatus.QUEUED.value,
            source=original.source,
            workflow_id=original.workflow_id,
            enrollment_id=original.enrollment_id,
            step_id=original.step_id,
            broadcast_id=original.broadcast_id,
            variant=original.variant,
            purpose=original.purpose,
            topic=original.topic,
            variables=original.variables,
            reason=f"AlimTalk failed: {reason}"[:1000],
            attempts=0,
            due_at=now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
