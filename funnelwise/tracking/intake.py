"""The intake: checked messages the tracking API accepted, durable before it answers, not yet resolved.

Accepting is one short write, so a burst of traffic costs the senders little; who each message is
about is worked out after, by the resolver (`funnelwise.tracking.resolver`), in large batches.
"""

import json
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.db.dialect import dialect_name
from funnelwise.db.notify import notify_workers
from funnelwise.db.writes import write_retrying
from funnelwise.tracking.ingest import IngestResult
from funnelwise.tracking.messages import Message, MessageType
from funnelwise.tracking.models import IntakeMessage
from funnelwise.tracking.sources import source_for_write_key


def accept(
    sessions: sessionmaker[Session],
    write_key: str,
    messages: list[tuple[int, Message]],
    result: IngestResult,
) -> int | None:
    """Keeps the messages in the intake for the live source with this write key; its id, or None.

    The key is looked up in the transaction that appends, which saves a second one per call and
    never trusts a copy: a revoked key is refused from the moment the revocation commits. With no
    live source nothing is kept. A message logged already, or earlier in the batch, is a
    duplicate; a replay of a message still waiting in the intake is kept too, and dropped when it
    is resolved: the log stores each message id once either way.
    """
    if not messages:
        with sessions() as session:
            return source_for_write_key(session, write_key)
    rows: dict[str, dict[str, Any]] = {}
    for _, message in messages:
        rows.setdefault(
            message.message_id,
            {"message_id": message.message_id, "payload": dump(message), "received_at": message.received_at},
        )
    source_id, accepted = write_retrying(
        sessions, lambda session: _append(session, write_key, list(rows.values())), urgent=True
    )
    if source_id is not None:
        result.accepted += accepted
        result.duplicates += len(messages) - accepted
    return source_id


def _append(session: Session, write_key: str, rows: list[dict[str, Any]]) -> tuple[int | None, int]:
    """(the source's id, the rows appended); (None, 0) when no live source has the key."""
    at = rows[0]["received_at"]
    if dialect_name(session) == "postgresql":
        document = orjson.dumps(
            [{"message_id": r["message_id"], "payload": r["payload"]} for r in rows]
        ).decode()
        source_id, appended = session.execute(
            _POSTGRES_APPEND, {"rows": document, "write_key": write_key, "at": at}
        ).one()
        if appended:
            notify_workers(session)
        return source_id, appended
    source_id = source_for_write_key(session, write_key)
    if source_id is None:
        return None, 0
    # The ids travel as one JSON array, so the statement's text is the same for every batch.
    connection = session.connection()
    ids = orjson.dumps([r["message_id"] for r in rows]).decode()
    logged = {found for (found,) in connection.exec_driver_sql(_SQLITE_LOGGED, (ids,))}
    fresh = [r for r in rows if r["message_id"] not in logged]
    if fresh:
        # Straight to the driver: the statement is fixed and only the time needs converting, once.
        stamp = IntakeMessage.__table__.c.received_at.type.bind_processor(connection.dialect)(at)
        connection.exec_driver_sql(
            "INSERT INTO event_intake (message_id, source_id, payload, received_at) VALUES (?, ?, ?, ?)",
            [(r["message_id"], source_id, r["payload"], stamp) for r in fresh],
        )
    return source_id, len(fresh)


_SQLITE_LOGGED = "SELECT message_id FROM events WHERE message_id IN (SELECT value FROM json_each(?))"
# One statement, whatever the batch's size: the source looked up and the batch appended, in the
# batch's order so that the log keeps it. No row is appended when no live source has the key.
_POSTGRES_APPEND = text(
    "WITH source AS (SELECT id FROM sources WHERE write_key = :write_key AND revoked_at IS NULL), "
    "appended AS (INSERT INTO event_intake (message_id, source_id, payload, received_at) "
    "SELECT r.message_id, source.id, r.payload, :at FROM source, ROWS FROM "
    "(jsonb_to_recordset(CAST(:rows AS jsonb)) AS (message_id text, payload text)) WITH ORDINALITY "
    "AS r(message_id, payload, n) "
    "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = r.message_id) ORDER BY r.n "
    "RETURNING 1) "
    "SELECT (SELECT id FROM source), (SELECT count(*) FROM appended)"
)


_EXACT = '{"exact":true,'


def dump(message: Message) -> str:
    """The message as JSON text, which `load` reads back to an equal message."""
    document = {
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
    try:
        return orjson.dumps(document).decode()
    except TypeError:  # an integer beyond 64 bits, which only the standard library writes
        # Marked up front: orjson would read such an integer back as a float, so `load` reads
        # these documents with the standard library too.
        exact = {"exact": True} | document
        return json.dumps(exact, ensure_ascii=False, separators=(",", ":"), default=datetime.isoformat)


def load(payload: str, source_id: int | None) -> Message:
    data = json.loads(payload) if payload.startswith(_EXACT) else orjson.loads(payload)
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
