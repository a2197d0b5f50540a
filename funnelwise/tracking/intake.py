"""The intake: checked messages the tracking API accepted, durable before it answers, not yet resolved.

Accepting is one short write, so a burst of traffic costs the senders little; who each message is
about is worked out after, by the resolver (`funnelwise.tracking.resolver`), in large batches.
"""

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name
from funnelwise.tracking.ingest import IngestResult, write_retrying
from funnelwise.tracking.messages import Message, MessageType
from funnelwise.tracking.models import IntakeMessage

# Workers in other processes LISTEN on this channel; the notification is sent when the accepting
# transaction commits, never before.
CHANNEL = "funnelwise_intake"


def accept(
    sessions: sessionmaker[Session],
    ctx: Context,
    source_id: int,
    messages: list[tuple[int, Message]],
    result: IngestResult,
) -> IngestResult:
    """Keeps the messages in the intake; a message id logged or waiting already is a duplicate."""
    rows = [
        {"message_id": m.message_id, "payload": dump(m), "source_id": source_id, "received_at": m.received_at}
        for _, m in messages
    ]
    accepted = write_retrying(sessions, lambda session: _append(session, rows), urgent=True)
    result.accepted += accepted
    result.duplicates += len(messages) - accepted
    return result


def _append(session: Session, rows: list[dict[str, Any]]) -> int:
    if dialect_name(session) == "postgresql":
        document = orjson.dumps([{"message_id": r["message_id"], "payload": r["payload"]} for r in rows]).decode()
        parameters = {"rows": document, "source_id": rows[0]["source_id"], "at": rows[0]["received_at"]}
        appended = len(session.scalars(_POSTGRES_APPEND, parameters).all())
        session.execute(text(f"NOTIFY {CHANNEL}"))
        return appended
    # SQLite: this transaction holds the database's one write lock, so what it reads stays true.
    # The ids travel as one JSON array, so the statement's text is the same for every batch.
    ids = orjson.dumps([r["message_id"] for r in rows]).decode()
    connection = session.connection()
    seen = {found for (found,) in connection.exec_driver_sql(_SQLITE_SEEN, (ids, ids))}
    fresh: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["message_id"] not in seen:
            fresh.setdefault(row["message_id"], row)
    if fresh:
        # Straight to the driver: the statement is fixed and only the time needs converting, once.
        table = IntakeMessage.__table__
        at = table.c.received_at.type.bind_processor(session.get_bind().dialect)(rows[0]["received_at"])
        connection.exec_driver_sql(
            "INSERT INTO event_intake (message_id, source_id, payload, received_at) VALUES (?, ?, ?, ?)",
            [(r["message_id"], r["source_id"], r["payload"], at) for r in fresh.values()],
        )
    return len(fresh)


_SQLITE_SEEN = (
    "SELECT message_id FROM events WHERE message_id IN (SELECT value FROM json_each(?)) UNION ALL "
    "SELECT message_id FROM event_intake WHERE message_id IN (SELECT value FROM json_each(?))"
)
# One statement, whatever the batch's size: replays of logged messages are skipped by the NOT
# EXISTS, replays of waiting ones (or of one in this same batch) by the ON CONFLICT.
_POSTGRES_APPEND = text(
    "INSERT INTO event_intake (message_id, source_id, payload, received_at) "
    "SELECT r.message_id, :source_id, r.payload, :at FROM ROWS FROM "
    "(jsonb_to_recordset(CAST(:rows AS jsonb)) AS (message_id text, payload text)) WITH ORDINALITY "
    "AS r(message_id, payload, n) "
    "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = r.message_id) "
    "ORDER BY r.n ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
)


def dump(message: Message) -> str:
    """The message as JSON text, which `load` reads back to an equal message."""
    return orjson.dumps(
        {
            "type": message.type.value,
            "message_id": message.message_id,
            "user_id": message.user_id,
            "anonymous_id": message.anonymous_id,
            "name": message.name,
            "properties": message.properties,
            "traits": message.traits,
            "context": message.context,
            "occurred_at": message.occurred_at,
            "received_at": message.received_at,
            "group_id": message.group_id,
            "previous_id": message.previous_id,
        }
    ).decode()


def load(payload: str, source_id: int | None) -> Message:
    data = orjson.loads(payload)
    return Message(
        type=MessageType(data["type"]),
        message_id=data["message_id"],
        user_id=data["user_id"],
        anonymous_id=data["anonymous_id"],
        name=data["name"],
        properties=data["properties"],
        traits=data["traits"],
        context=data["context"],
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        received_at=datetime.fromisoformat(data["received_at"]),
        group_id=data["group_id"],
        previous_id=data["previous_id"],
        source_id=source_id,
    )
