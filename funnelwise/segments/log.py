"""What segments and lists write to the one event log, with message ids that make a retry harmless.

A change is identified by what changed and when, so writing it twice stores one event:
`segment-12-345-entered-2026-11-22T01:00:00+00:00`, `list-3-345-added-…`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, literal
from sqlalchemy.orm import Session

from funnelwise.db.dialect import insert
from funnelwise.db.types import JSONDoc, UTCDateTime
from funnelwise.segments.models import SegmentMembership
from funnelwise.tracking.log import SYSTEM, SystemEvent, record_events
from funnelwise.tracking.models import Event

SEGMENT_ENTERED = "Segment Entered"
SEGMENT_EXITED = "Segment Exited"
LIST_ADDED = "List Added"
LIST_REMOVED = "List Removed"
_events = Event.__table__
_stays = SegmentMembership.__table__


@dataclass(frozen=True)
class LogEntry:
    """One change to log: `kind` is segment or list, `owner_id` its id, `change` entered, added, …"""

    name: str
    kind: str
    owner_id: int
    contact_id: int
    change: str
    at: datetime
    properties: dict[str, Any]

    @property
    def message_id(self) -> str:
        return f"{self.kind}-{self.owner_id}-{self.contact_id}-{self.change}-{self.at.isoformat()}"


def log_entries(session: Session, entries: Sequence[LogEntry]) -> None:
    """One event per entry, in one statement; an entry whose message id is logged already is skipped."""
    record_events(
        session,
        [
            SystemEvent(entry.message_id, entry.contact_id, entry.name, entry.at, entry.properties)
            for entry in entries
        ],
    )


def log_stays(session: Session, segment_id: int, segment_name: str, change: str, at: datetime) -> None:
    """An event for every stay of the segment that began (or ended) at `at`, in one statement."""
    column = _stays.c.entered_at if change == "entered" else _stays.c.exited_at
    name = SEGMENT_ENTERED if change == "entered" else SEGMENT_EXITED
    # The same text as `LogEntry.message_id`, spelled in SQL.
    message = (
        literal(f"segment-{segment_id}-")
        + cast(_stays.c.contact_id, String)
        + literal(f"-{change}-{at.isoformat()}")
    )
    stamp = literal(at, UTCDateTime())
    rows = _stays.select().with_only_columns(
        message,
        _stays.c.contact_id,
        literal(SYSTEM),
        literal(name),
        literal({"segment_id": segment_id, "segment_name": segment_name}, JSONDoc),
        literal({}, JSONDoc),
        stamp,
        stamp,
    )
    rows = rows.where(_stays.c.segment_id == segment_id, column == stamp)
    columns = [
        "message_id",
        "contact_id",
        "type",
        "name",
        "properties",
        "context",
        "occurred_at",
        "received_at",
    ]
    statement = insert(session, _events).from_select(columns, rows)
    session.execute(statement.on_conflict_do_nothing(index_elements=["message_id"]))
