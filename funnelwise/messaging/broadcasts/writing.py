"""A broadcast's outbox rows, written set-wise: INSERT … SELECT from the audience, in chunks.

Every row's idempotency key is `bc-<broadcast>-<contact>` and a clash is skipped, so a chunk
written twice (a crash after its commit, a second process, a re-run) adds nobody twice. Row k of
a throttled phase is due k / throttle_per_minute minutes after the phase began; k is the contact's
place in the phase's order, so a resumed send keeps the pace the first run set.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.db.dialect import insert
from funnelwise.db.types import UTCDateTime
from funnelwise.errors import InvalidInput
from funnelwise.messaging.broadcasts.ab_testing import sample_rank, sample_size
from funnelwise.messaging.broadcasts.audience import AudienceSource, chunk_end, count, members
from funnelwise.messaging.broadcasts.moments import plus_seconds
from funnelwise.messaging.models import Broadcast, MessageTemplate
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus

SOURCE = "broadcast"
_outbox = OutboxMessage.__table__


@dataclass(frozen=True)
class TemplateFacts:
    name: str
    channel: str
    purpose: str
    topic: str


@dataclass(frozen=True)
class Version:
    """What one group of recipients gets: a variant's name (None without a test) and its template."""

    variant: str | None
    template: TemplateFacts


@dataclass(frozen=True)
class ChunkWritten:
    """One chunk's outcome: where the next starts (None: this was the last), its members, new rows."""

    next_after: int | None
    members: int
    written: int


def template_facts(session: Session, names: list[str]) -> dict[str, TemplateFacts]:
    rows = session.execute(
        select(
            MessageTemplate.name, MessageTemplate.channel, MessageTemplate.purpose, MessageTemplate.topic
        ).where(MessageTemplate.name.in_(names))
    )
    return {row.name: TemplateFacts(*row) for row in rows}


def idempotency_key(broadcast_id: int, contact_id: int) -> str:
    return f"bc-{broadcast_id}-{contact_id}"


def write_sample(session: Session, ctx: Context, broadcast: Broadcast) -> int:
    """The A/B test's rows: the lowest-ranked share of the audience, dealt round the variants in turn.

    One statement: the sample is at most half the audience and is ranked as a whole.
    """
    assert broadcast.ab is not None and broadcast.started_at is not None
    versions = _versions(session, broadcast, [v["name"] for v in broadcast.ab["variants"]])
    audience = members(AudienceSource.of(broadcast)).subquery()
    rank = sample_rank(broadcast.id, audience.c.contact_id)
    ranked = select(
        audience.c.contact_id,
        func.row_number().over(order_by=(rank, audience.c.contact_id)).label("rn"),
    ).subquery()
    size = sample_size(broadcast.audience, broadcast.ab["sample_percent"])
    rows = _rows(session, ctx, broadcast, ranked, versions, broadcast.started_at, offset=0)
    return _insert(session, rows.where(ranked.c.rn <= size))


def write_chunk(
    session: Session, ctx: Context, broadcast: Broadcast, *, after: int, offset: int
) -> ChunkWritten:
    """The rows of the next `broadcast_chunk_size` audience members with ids above `after`.

    `offset` is how many members came before this chunk in the phase (its first row's k). After
    an A/B test this is the rest of the audience, the winner's version, paced from the test's end.
    """
    size = ctx.settings.broadcast_chunk_size
    if broadcast.ab is None:
        versions = _versions(session, broadcast, [None])
        phase_start = broadcast.started_at
        audience = members(AudienceSource.of(broadcast))
    else:
        assert broadcast.winner is not None and broadcast.tested_at is not None
        versions = _versions(session, broadcast, [broadcast.winner])
        phase_start = broadcast.tested_at
        audience = _rest(members(AudienceSource.of(broadcast)), broadcast)
    assert phase_start is not None
    end = chunk_end(session, audience, after, size)
    ids = audience.subquery()
    window = [ids.c.contact_id > after] + ([ids.c.contact_id <= end] if end is not None else [])
    ranked = (
        select(ids.c.contact_id, func.row_number().over(order_by=ids.c.contact_id).label("rn"))
        .where(*window)
        .subquery()
    )
    rows = _rows(session, ctx, broadcast, ranked, versions, phase_start, offset=offset)
    # SQLite reads `INSERT … SELECT … ON CONFLICT` right only when the SELECT has a WHERE.
    written = _insert(session, rows.where(true()))
    in_chunk = size if end is not None else count(session, select(ids.c.contact_id).where(*window))
    return ChunkWritten(next_after=end, members=in_chunk, written=written)


def _rest(audience: Select[tuple[int]], broadcast: Broadcast) -> Select[tuple[int]]:
    """The audience without the contacts the test already wrote to (rows from before the test ended)."""
    ids = audience.subquery()
    tested = exists().where(
        OutboxMessage.broadcast_id == broadcast.id,
        OutboxMessage.contact_id == ids.c.contact_id,
        OutboxMessage.created_at < broadcast.tested_at,
    )
    return select(ids.c.contact_id).where(~tested)


def _versions(session: Session, broadcast: Broadcast, variants: list[str | None]) -> list[Version]:
    by_variant = {v["name"]: v["template"] for v in (broadcast.ab or {}).get("variants", [])}
    names = [broadcast.template if v is None else by_variant[v] for v in variants]
    facts = template_facts(session, names)
    missing = [name for name in names if name not in facts]
    if missing:
        raise InvalidInput.single("template", f"no message template named {missing[0]!r}")
    return [Version(variant, facts[name]) for variant, name in zip(variants, names, strict=True)]


def _rows(
    session: Session,
    ctx: Context,
    broadcast: Broadcast,
    ranked: Any,
    versions: list[Version],
    phase_start: datetime,
    *,
    offset: int,
) -> Select[Any]:
    """The outbox rows for `ranked` (contact_id, rn from 1), in the order of `_COLUMNS`."""
    now = ctx.clock.now()
    k = ranked.c.rn - 1 + offset
    turn = (ranked.c.rn - 1) % len(versions)

    def pick(value: Any) -> ColumnElement[Any]:
        if len(versions) == 1:
            return literal(value(versions[0]), String)
        return case({i: literal(value(v), String) for i, v in enumerate(versions)}, value=turn)

    start = bindparam(None, phase_start, type_=UTCDateTime)
    due_at = start
    if broadcast.throttle_per_minute:
        due_at = plus_seconds(session, start, k * 60.0 / broadcast.throttle_per_minute)
    variables = {"send_time": "best"} if broadcast.send_time_optimization else {}
    key_prefix = literal(f"bc-{broadcast.id}-", String)
    return select(
        (key_prefix + cast(ranked.c.contact_id, String)).label("idempotency_key"),
        ranked.c.contact_id,
        literal(broadcast.channel, String).label("channel"),
        pick(lambda v: v.template.name).label("template"),
        literal(OutboxStatus.QUEUED.value, String).label("status"),
        literal(SOURCE, String).label("source"),
        literal(variables, _outbox.c.variables.type).label("variables"),
        literal(broadcast.id, _outbox.c.broadcast_id.type).label("broadcast_id"),
        pick(lambda v: v.variant).label("variant"),
        pick(lambda v: v.template.purpose).label("purpose"),
        pick(lambda v: v.template.topic).label("topic"),
        due_at.label("due_at"),
        literal(0).label("attempts"),
        bindparam(None, now, type_=UTCDateTime).label("created_at"),
        bindparam(None, now, type_=UTCDateTime).label("updated_at"),
    )


_COLUMNS = [
    "idempotency_key",
    "contact_id",
    "channel",
    "template",
    "status",
    "source",
    "variables",
    "broadcast_id",
    "variant",
    "purpose",
    "topic",
    "due_at",
    "attempts",
    "created_at",
    "updated_at",
]


def _insert(session: Session, rows: Select[Any]) -> int:
    statement = (
        insert(session, _outbox)
        .from_select(_COLUMNS, rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    # RETURNING counts the new rows: psycopg reports no row count for INSERT … SELECT … ON CONFLICT.
    return len(session.scalars(statement.returning(_outbox.c.id)).all())
