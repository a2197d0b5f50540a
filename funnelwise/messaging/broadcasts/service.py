"""Broadcasts: define, schedule, send, cancel; the worker's tick starts due ones and picks A/B winners.

A send writes the outbox rows in chunks, a transaction each, and the broadcast row says where it
stands, so a process that dies mid-way leaves a broadcast `sending` that the next tick (or a
second `send`) finishes; the rows' idempotency keys make the repeated chunks add nobody twice.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from funnelwise.messaging.broadcasts import ab_testing
from funnelwise.messaging.broadcasts.audience import AudienceSource, count, members, resolve_source
from funnelwise.messaging.broadcasts.schemas import BroadcastIn, BroadcastOut, BroadcastStatus
from funnelwise.messaging.broadcasts.writing import template_facts, write_chunk, write_sample
from funnelwise.messaging.models import Broadcast
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.segments.upkeep import refresh_segment

logger = logging.getLogger(__name__)

CANCELLED_REASON = "broadcast cancelled"
Progress = Callable[[int], None]


def create_broadcast(session: Session, ctx: Context, data: BroadcastIn) -> BroadcastOut:
    """Stores a draft, or a scheduled broadcast when it names a time; refuses what could not be sent."""
    now = ctx.clock.now()
    template = data.template or (data.ab.variants[0].template if data.ab else None)
    if template is None:
        raise InvalidInput.single("template", "a broadcast needs a template (or A/B variants with theirs)")
    channel = _check_templates(session, data, template)
    source = resolve_source(session, data.segment, data.list)
    if data.scheduled_at is not None:
        _check_future(data.scheduled_at, now)
    broadcast = Broadcast(
        name=data.name,
        channel=channel,
        template=template,
        segment_id=source.segment_id,
        list_id=source.list_id,
        status=BroadcastStatus.SCHEDULED if data.scheduled_at else BroadcastStatus.DRAFT,
        scheduled_at=data.scheduled_at,
        throttle_per_minute=data.throttle_per_minute,
        send_time_optimization=data.send_time_optimization,
        ab=data.ab.model_dump() if data.ab else None,
        conversion_event=data.conversion_event,
        audience=0,
        created_at=now,
        updated_at=now,
    )
    if not write_or_undo(session, lambda: session.add(broadcast)):
        raise Conflict("name", f"a broadcast named {data.name!r} exists already")
    return BroadcastOut.model_validate(broadcast)


def list_broadcasts(session: Session) -> list[BroadcastOut]:
    """Newest first."""
    rows = session.scalars(select(Broadcast).order_by(Broadcast.id.desc()))
    return [BroadcastOut.model_validate(row) for row in rows]


def get_broadcast(session: Session, broadcast_id: int) -> BroadcastOut:
    return BroadcastOut.model_validate(_load(session, broadcast_id))


def broadcast_id_named(session: Session, name: str) -> int:
    """The id of the broadcast with this name, or with this id when it is a number no name matches."""
    found = session.scalar(select(Broadcast.id).where(Broadcast.name == name))
    if found is None and name.isdigit() and len(name) < 19:
        found = session.scalar(select(Broadcast.id).where(Broadcast.id == int(name)))
    if found is None:
        raise NotFound("broadcast", name)
    return found


def schedule_broadcast(session: Session, ctx: Context, broadcast_id: int, at: datetime) -> BroadcastOut:
    """Sets (or moves) the time a draft or scheduled broadcast starts."""
    now = ctx.clock.now()
    broadcast = _load(session, broadcast_id, lock=True)
    if broadcast.status not in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        raise Conflict(
            "status", f"broadcast {broadcast.name!r} is {broadcast.status}; only a draft can be scheduled"
        )
    _check_future(at, now)
    broadcast.status = BroadcastStatus.SCHEDULED
    broadcast.scheduled_at = at
    broadcast.updated_at = now
    session.flush()
    return BroadcastOut.model_validate(broadcast)


def cancel_broadcast(session: Session, ctx: Context, broadcast_id: int) -> BroadcastOut:
    """Stops the broadcast: nothing more is written, and its messages still queued are suppressed.

    Messages a sender already took (`sending`) or sent are past stopping. A sent broadcast can be
    cancelled too, for the messages its throttle or the recipients' best hours still hold back.
    """
    now = ctx.clock.now()
    broadcast = _load(session, broadcast_id, lock=True)
    broadcast.status = BroadcastStatus.CANCELLED
    broadcast.finished_at = broadcast.finished_at or now
    broadcast.updated_at = now
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SUPPRESSED, reason=CANCELLED_REASON, updated_at=now)
    )
    session.flush()
    return BroadcastOut.model_validate(broadcast)


def start_broadcast(session: Session, ctx: Context, broadcast_id: int) -> BroadcastOut:
    """Moves a draft or scheduled broadcast to `sending` and counts its audience as of now.

    A broadcast already `sending` (a run that died mid-way) is left as it is, to be resumed.
    """
    broadcast = _load(session, broadcast_id, lock=True)
    if broadcast.status == BroadcastStatus.SENDING:
        return BroadcastOut.model_validate(broadcast)
    if broadcast.status not in (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED):
        raise Conflict("status", _not_sendable(broadcast))
    _begin(session, ctx, broadcast)
    return BroadcastOut.model_validate(broadcast)


def send_broadcast(
    sessions: sessionmaker[Session], ctx: Context, broadcast_id: int, *, progress: Progress | None = None
) -> BroadcastOut:
    """Sends now: starts the broadcast (or resumes it) and writes its messages, a chunk a transaction.

    With an A/B test only the sample is written; the tick sends the winner to the rest after the
    wait. `progress` hears how many audience members each chunk covered.
    """
    with sessions.begin() as session:
        start_broadcast(session, ctx, broadcast_id)
    _write(sessions, ctx, broadcast_id, progress)
    with sessions() as session:
        return get_broadcast(session, broadcast_id)


def advance_broadcasts(sessions: sessionmaker[Session], ctx: Context) -> int:
    """Starts scheduled broadcasts that are due, resumes stalled ones, sends A/B winners; how many moved.

    Each is claimed on its own (with `SKIP LOCKED` on PostgreSQL), so workers ticking together
    share the work; one that cannot be sent (its template deleted) is logged and left for later.
    """
    with sessions() as session:
        waiting = session.execute(
            select(Broadcast.id, Broadcast.status).where(
                Broadcast.status.in_(
                    [BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING, BroadcastStatus.TESTING]
                )
            )
        ).all()
    moved = 0
    for broadcast_id, status in waiting:
        claim = _CLAIMS[BroadcastStatus(status)]
        try:
            with sessions.begin() as session:
                claimed = _claim(session, ctx, broadcast_id, claim)
            if claimed:
                _write(sessions, ctx, broadcast_id, None)
                moved += 1
        except DomainError:
            logger.warning("broadcast %s could not go on", broadcast_id, exc_info=True)
    return moved


Claim = Callable[[Session, Context, Broadcast], bool]


def _claim(session: Session, ctx: Context, broadcast_id: int, claim: Claim) -> bool:
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    broadcast = session.scalar(query)
    # None: another worker holds it. The claim checks again that it is still where it was listed.
    return broadcast is not None and claim(session, ctx, broadcast)


def _claim_due(session: Session, ctx: Context, broadcast: Broadcast) -> bool:
    """A scheduled broadcast whose time came: it starts."""
    at = broadcast.scheduled_at
    if broadcast.status != BroadcastStatus.SCHEDULED or at is None or at > ctx.clock.now():
        return False
    _begin(session, ctx, broadcast)
    return True


def _claim_stalled(session: Session, ctx: Context, broadcast: Broadcast) -> bool:
    """A broadcast `sending` with no progress for a while: the process writing it died."""
    now = ctx.clock.now()
    stalled_before = now - timedelta(minutes=ctx.settings.broadcast_stale_minutes)
    if broadcast.status != BroadcastStatus.SENDING or broadcast.updated_at >= stalled_before:
        return False
    broadcast.updated_at = now
    return True


def _claim_tested(session: Session, ctx: Context, broadcast: Broadcast) -> bool:
    """An A/B test whose wait is over: the winner is picked and the rest is sent it."""
    now = ctx.clock.now()
    if broadcast.status != BroadcastStatus.TESTING or broadcast.ab is None or broadcast.started_at is None:
        return False
    if broadcast.started_at + timedelta(hours=broadcast.ab["wait_hours"]) > now:
        return False
    broadcast.winner = ab_testing.winner(ab_testing.variant_rates(session, broadcast))
    broadcast.tested_at = now
    broadcast.status = BroadcastStatus.SENDING
    broadcast.updated_at = now
    return True


_CLAIMS: dict[BroadcastStatus, Claim] = {
    BroadcastStatus.SCHEDULED: _claim_due,
    BroadcastStatus.SENDING: _claim_stalled,
    BroadcastStatus.TESTING: _claim_tested,
}


def _begin(session: Session, ctx: Context, broadcast: Broadcast) -> None:
    """`sending` from now, with the audience counted as it stands (a segment refreshed first)."""
    now = ctx.clock.now()
    names = [broadcast.template] + [v["template"] for v in (broadcast.ab or {}).get("variants", [])]
    missing = sorted(set(names) - set(template_facts(session, names)))
    if missing:
        raise InvalidInput.single("template", f"no message template named {missing[0]!r}")
    if broadcast.segment_id is not None:
        refresh_segment(session, ctx, broadcast.segment_id)
    broadcast.audience = count(session, members(AudienceSource.of(broadcast)))
    broadcast.status = BroadcastStatus.SENDING
    broadcast.started_at = now
    broadcast.updated_at = now
    session.flush()


def _write(
    sessions: sessionmaker[Session], ctx: Context, broadcast_id: int, progress: Progress | None
) -> None:
    """Writes what the broadcast's phase calls for: the A/B sample, or every chunk of the audience."""
    with sessions.begin() as session:
        broadcast = _load(session, broadcast_id, lock=True)
        if broadcast.status != BroadcastStatus.SENDING:
            return
        if broadcast.ab is not None and broadcast.winner is None:
            written = write_sample(session, ctx, broadcast)
            broadcast.status = BroadcastStatus.TESTING
            broadcast.updated_at = ctx.clock.now()
            if progress:
                progress(written)
            return
    after = offset = 0
    while True:
        with sessions.begin() as session:
            # Locked per chunk: a cancel waits for the chunk in hand, and the next one sees it.
            broadcast = _load(session, broadcast_id, lock=True)
            if broadcast.status != BroadcastStatus.SENDING:
                return
            chunk = write_chunk(session, ctx, broadcast, after=after, offset=offset)
            now = ctx.clock.now()
            broadcast.updated_at = now
            if chunk.next_after is None:
                broadcast.status = BroadcastStatus.SENT
                broadcast.finished_at = now
        if progress:
            progress(chunk.members)
        if chunk.next_after is None:
            return
        after, offset = chunk.next_after, offset + chunk.members


def _check_templates(session: Session, data: BroadcastIn, template: str) -> str:
    """The channel of the broadcast's templates, which must exist and all share it."""
    fields = [("template", template)] if data.template else []
    fields += [
        (f"ab.variants.{i}.template", v.template) for i, v in enumerate(data.ab.variants if data.ab else [])
    ]
    facts = template_facts(session, [name for _, name in fields])
    errors = [
        FieldError(field, f"no message template named {name!r}")
        for field, name in fields
        if name not in facts
    ]
    if errors:
        raise InvalidInput(errors)
    channel = facts[template].channel
    errors = [
        FieldError(field, f"{name!r} is a {facts[name].channel} template; this broadcast sends {channel}")
        for field, name in fields
        if facts[name].channel != channel
    ]
    if errors:
        raise InvalidInput(errors)
    return channel


def _check_future(at: datetime, now: datetime) -> None:
    if at <= now:
        raise InvalidInput.single(
            "scheduled_at", f"{at.isoformat()} is not in the future (now {now.isoformat()})"
        )


def _not_sendable(broadcast: Broadcast) -> str:
    if broadcast.status == BroadcastStatus.TESTING:
        return f"broadcast {broadcast.name!r} is testing its variants; the winner goes to the rest after the wait"
    return f"broadcast {broadcast.name!r} is {broadcast.status} and cannot be sent again"


def _load(session: Session, broadcast_id: int, *, lock: bool = False) -> Broadcast:
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if lock and dialect_name(session) == "postgresql":
        query = query.with_for_update()
    broadcast = session.scalar(query)
    if broadcast is None:
        raise NotFound("broadcast", broadcast_id)
    return broadcast
