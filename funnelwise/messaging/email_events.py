"""What happened to an email after it left: logged as `Email <what>` and stamped on its outbox row."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.messaging.message import event_name, event_properties
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.tracking.log import record_event

DELIVERED = "Delivered"
OPENED = "Opened"
CLICKED = "Clicked"
BOUNCED = "Bounced"
COMPLAINED = "Complained"

# The row's time column each outcome sets the first time it happens.
OUTCOME_COLUMNS = {
    DELIVERED: "delivered_at",
    OPENED: "opened_at",
    CLICKED: "clicked_at",
    BOUNCED: "bounced_at",
    COMPLAINED: "complained_at",
}


def record_outcome(
    session: Session,
    ctx: Context,
    message_id: int,
    what: str,
    properties: dict[str, Any] | None = None,
    *,
    also: Sequence[str] = (),
) -> bool:
    """Logs the outcome for the message's contact and sets its time (and `also`'s) where empty.

    False when no such message is kept (deleted, or never ours): nothing is recorded then.
    """
    row = session.execute(
        select(
            OutboxMessage.contact_id,
            OutboxMessage.channel,
            OutboxMessage.template,
            OutboxMessage.workflow_id,
            OutboxMessage.broadcast_id,
            OutboxMessage.variant,
        ).where(OutboxMessage.id == message_id)
    ).first()
    if row is None:
        return False
    event = event_properties(message_id, row) | (properties or {})
    record_event(session, ctx, row.contact_id, event_name(row.channel, what), event)
    now = ctx.clock.now()
    for outcome in (what, *also):
        column = getattr(OutboxMessage, OUTCOME_COLUMNS[outcome])
        # Only the first time counts; the condition makes concurrent reports agree on which that was.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, column.is_(None))
            .values({column: now, OutboxMessage.updated_at: now})
        )
    return True
