"""What the sales package writes to the one event log, with message ids that make a retry harmless.

A message id names what changed and when: `stage-345-mql-2026-11-22T01:00:00+00:00`,
`owner-345-7-2026-11-22T01:00:00+00:00`, so writing the same change twice stores one event.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from funnelwise.db.dialect import insert
from funnelwise.tracking.log import SYSTEM
from funnelwise.tracking.models import Event

STAGE_CHANGED = "Lifecycle Stage Changed"
OWNER_ASSIGNED = "Owner Assigned"
TASK_OVERDUE = "Sales Task Overdue"
DEAL_STAGE_CHANGED = "Deal Stage Changed"
_events = Event.__table__


@dataclass(frozen=True)
class LogEntry:
    message_id: str
    contact_id: int
    name: str
    at: datetime
    properties: dict[str, Any]


def log_entries(session: Session, entries: Sequence[LogEntry]) -> None:
    """One event per entry, in one statement; an entry whose message id is logged already is skipped."""
    if not entries:
        return
    rows = [
        {
            "message_id": entry.message_id,
            "contact_id": entry.contact_id,
            "type": SYSTEM,
            "name": entry.name,
            "properties": entry.properties,
            "context": {},
            "occurred_at": entry.at,
            "received_at": entry.at,
        }
        for entry in entries
    ]
    session.execute(insert(session, _events).on_conflict_do_nothing(index_elements=["message_id"]), rows)
