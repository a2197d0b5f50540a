"""An outbox row as the sender holds it between claiming it and recording what became of it."""

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from funnelwise.messaging.message import MessageChannel, event_properties


@dataclass(slots=True)
class ClaimedMessage:
    """The columns the sender reads; the rest of the row it only writes.

    Mutable so that preparing fills in the template's purpose and topic where the row had none.
    """

    id: int
    idempotency_key: str
    contact_id: int
    channel: MessageChannel
    template: str
    source: str
    purpose: str | None
    topic: str | None
    variables: dict[str, Any]
    attempts: int
    reason: str | None
    workflow_id: int | None
    broadcast_id: int | None
    variant: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Row[Any]) -> "ClaimedMessage":
        return cls(
            id=row.id,
            idempotency_key=row.idempotency_key,
            contact_id=row.contact_id,
            channel=MessageChannel(row.channel),
            template=row.template,
            source=row.source,
            purpose=row.purpose,
            topic=row.topic,
            variables=row.variables or {},
            attempts=row.attempts,
            reason=row.reason,
            workflow_id=row.workflow_id,
            broadcast_id=row.broadcast_id,
            variant=row.variant,
            created_at=row.created_at,
        )

    @property
    def event_properties(self) -> dict[str, Any]:
        return event_properties(self.id, self)


CLAIMED_COLUMNS = tuple(field.name for field in fields(ClaimedMessage))
