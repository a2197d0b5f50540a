"""`Property Changed` events: a contact field or custom property that took a new value.

Logged for changes made one contact at a time (the API, the UI, workflow steps), with the old and
new value, so that a workflow can start when `plan` goes from `trial` to `pro`. Bulk imports do
not log them: a million-row upload would double the event log, and journeys react to people, not
to data loads.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from funnelwise.tracking.log import SystemEvent, record_events

PROPERTY_CHANGED = "Property Changed"


def snapshot(fields: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The values to compare: built-in fields by name, custom properties by theirs."""
    return {**properties, **fields}


def log_property_changes(
    session: Session, contact_id: int, before: dict[str, Any], after: dict[str, Any], at: datetime
) -> None:
    """One event per name whose value differs; unchanged names log nothing."""
    events = [
        SystemEvent(
            message_id=f"property-{contact_id}-{name}-{at.isoformat()}",
            contact_id=contact_id,
            name=PROPERTY_CHANGED,
            at=at,
            properties={"property": name, "from": _json(before.get(name)), "to": _json(after.get(name))},
        )
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name) and name != "updated_at"
    ]
    record_events(session, events)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
