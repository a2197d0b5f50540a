"""The sender: delivers due outbox rows through their channel's provider, each exactly once.

One batch is three short transactions around the network calls: claim (rows become `sending`),
prepare (policy, render) and, after the providers answered, record (status, events). A worker
that dies between claim and record leaves rows `sending`; once their lease has run out they become
`unknown` (never sent twice) or, when their provider takes our idempotency key, are sent again
with the same key.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.db.arrays import update_by_id
from funnelwise.db.dialect import dialect_name
from funnelwise.messaging.channels.http_status import OutcomeUnknown
from funnelwise.messaging.channels.registry import Providers, providers_from_settings
from funnelwise.messaging.claimed import CLAIMED_COLUMNS, ClaimedMessage
from funnelwise.messaging.message import Accepted, Delivery, MessageChannel, ProviderError, event_name
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.messaging.policy import Defer, Go, Suppress
from funnelwise.messaging.preparing import Prepared, prepare
from funnelwise.messaging.push_tokens import drop_push_tokens
from funnelwise.reactions.queue import mark_due
from funnelwise.tracking.log import SystemEvent, record_events

logger = logging.getLogger(__name__)

ATTEMPTS = 5
BACKOFF = timedelta(seconds=30)


@dataclass
class Batch:
    """What one `deliver_due` did, for the worker loop and the tests."""

    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    suppressed: int = 0
    failed: int = 0
    retried: int = 0
    unknown: int = 0
    recovered: int = 0
    errors: list[str] = field(default_factory=list)


class Sender:
    """Holds the providers (and their pooled connections) and an event loop across batches."""

    def __init__(
        self, sessions: sessionmaker[Session], ctx: Context, providers: Providers | None = None
    ) -> None:
        self._sessions = sessions
        self._ctx = ctx
        self._providers = providers if providers is not None else providers_from_settings(ctx)
        self._loop = asyncio.new_event_loop()
        self._recovered_at: datetime | None = None

    def _recovery_due(self) -> bool:
        """Abandoned sends are looked for once a tenth of a lease, not before every batch."""
        now = self._ctx.clock.now()
        every = timedelta(seconds=self._ctx.settings.send_lease_seconds / 10)
        if self._recovered_at is not None and self._recovered_at <= now < self._recovered_at + every:
            return False
        self._recovered_at = now
        return True

    def deliver_due(self) -> Batch:
        """One batch of due messages, start to finish."""
        batch = Batch()
        with self._sessions() as session:
            if self._recovery_due():
                batch.recovered = recover_abandoned(session, self._ctx, self._providers)
            claimed = claim(session, self._ctx)
            session.commit()
        batch.claimed = len(claimed)
        if not claimed:
            return batch
        try:
            with self._sessions() as session:
                prepared = prepare(session, self._ctx, claimed, self._providers)
        except Exception:
            # Nothing was sent: the batch goes back to the queue, to be tried after a pause.
            with self._sessions() as session:
                release(session, self._ctx, claimed)
                session.commit()
            raise
        results = self._loop.run_until_complete(self._send_all(prepared.deliveries))
        with self._sessions() as session:
            record(session, self._ctx, prepared, results, batch)
            session.commit()
        return batch

    def deliver_all_due(self, max_batches: int = 10_000) -> Batch:
        """Batches until nothing is due (for tests, the CLI and the bench)."""
        total = Batch()
        for _ in range(max_batches):
            batch = self.deliver_due()
            for name in (
                "claimed",
                "sent",
                "deferred",
                "suppressed",
                "failed",
                "retried",
                "unknown",
                "recovered",
            ):
                setattr(total, name, getattr(total, name) + getattr(batch, name))
            total.errors.extend(batch.errors)
            if not batch.claimed:
                break
        return total

    def close(self) -> None:
        for provider in {id(p): p for p in self._providers.values()}.values():
            self._loop.run_until_complete(provider.aclose())
        self._loop.close()

    def __enter__(self) -> "Sender":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    async def _send_all(self, deliveries: dict[int, Delivery]) -> dict[int, Accepted | ProviderError]:
        """Every delivery through its provider, `send_concurrency` at a time."""
        answers: dict[int, Accepted | ProviderError] = {}
        waiting = iter(deliveries.values())

        # A few senders taking the next delivery each, rather than a task per delivery queued on
        # a semaphore: the same concurrency with far fewer futures to schedule.
        async def sender() -> None:
            for delivery in waiting:
                answers[delivery.message_id] = await self._send_one(delivery)

        await asyncio.gather(
            *(sender() for _ in range(min(self._ctx.settings.send_concurrency, len(deliveries))))
        )
        return answers

    async def _send_one(self, delivery: Delivery) -> Accepted | ProviderError:
        provider = self._providers[delivery.rendered.channel]
        try:
            return await provider.send(delivery)
        except ProviderError as exc:
            return exc
        except Exception as exc:  # A provider bug must fail one message, not the batch.
            logger.exception("provider %s failed on message %s", provider.name, delivery.message_id)
            return ProviderError(f"{type(exc).__name__}: {exc}", retryable=True)


def claim(session: Session, ctx: Context) -> list[ClaimedMessage]:
    """Due queued rows become `sending`, oldest first; other workers skip the ones taken here."""
    now = ctx.clock.now()
    due = (
        select(OutboxMessage.id)
        .where(_status_is(OutboxStatus.QUEUED), OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(ctx.settings.send_batch_size)
    )
    if dialect_name(session) == "postgresql":
        due = due.with_for_update(skip_locked=True)
    table = OutboxMessage.__table__
    rows = session.execute(
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(status=OutboxStatus.SENDING, updated_at=now)
        .returning(*(table.c[name] for name in CLAIMED_COLUMNS))
    ).all()
    return sorted((ClaimedMessage.of(row) for row in rows), key=lambda m: (m.created_at, m.id))


def _status_is(status: OutboxStatus) -> ColumnElement[bool]:
    """The status as a literal: the planners use a partial index only for a predicate they can see."""
    return OutboxMessage.status == literal(status.value, literal_execute=True)


def release(session: Session, ctx: Context, claimed: Sequence[ClaimedMessage]) -> None:
    """Claimed rows go back to the queue unsent, due again after the first backoff."""
    now = ctx.clock.now()
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([m.id for m in claimed]), OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.QUEUED, due_at=now + BACKOFF, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def recover_abandoned(session: Session, ctx: Context, providers: Providers) -> int:
    """Rows a dead worker left `sending`: retried when the provider dedupes by our key, else unknown."""
    now = ctx.clock.now()
    lease = timedelta(seconds=ctx.settings.send_lease_seconds)
    stale = _status_is(OutboxStatus.SENDING) & (OutboxMessage.updated_at < now - lease)
    again = [channel.value for channel, provider in providers.items() if provider.idempotent]
    retried = session.execute(
        update(OutboxMessage)
        .where(stale, OutboxMessage.channel.in_(again))
        .values(status=OutboxStatus.QUEUED, due_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    unknown = session.execute(
        update(OutboxMessage)
        .where(stale)
        .values(
            status=OutboxStatus.UNKNOWN,
            error="the worker stopped while sending: whether the provider took it is unknown, "
            "so it is not sent again",
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if retried or unknown:
        logger.warning("recovered abandoned sends: %d retried with their key, %d unknown", retried, unknown)
    return retried + unknown


def record(
    session: Session,
    ctx: Context,
    prepared: Prepared,
    results: dict[int, Accepted | ProviderError],
    batch: Batch,
) -> None:
    """Every claimed row's outcome and its events, in one transaction."""
    now = ctx.clock.now()
    updates: list[dict[str, Any]] = []
    events: list[SystemEvent] = []
    fallbacks: list[tuple[int, str]] = []
    gone: list[tuple[int, str]] = []
    for message in prepared.messages:
        row: dict[str, Any] = {
            "id": message.id,
            "updated_at": now,
            "purpose": message.purpose,
            "topic": message.topic,
        }
        decision = prepared.decisions.get(message.id)
        failure = prepared.failures.get(message.id)
        if isinstance(decision, Suppress):
            row |= {"status": OutboxStatus.SUPPRESSED, "reason": decision.reason}
            events.append(_event(message, "Suppressed", now, reason=decision.reason))
            batch.suppressed += 1
        elif isinstance(decision, Defer):
            row |= {"status": OutboxStatus.QUEUED, "due_at": decision.until, "reason": decision.reason}
            batch.deferred += 1
        elif failure is not None:
            row |= {"status": OutboxStatus.FAILED, "error": failure}
            events.append(_event(message, "Failed", now, reason=failure))
            batch.failed += 1
        elif isinstance(decision, Go):
            row |= _sent_or_failed(message, decision, prepared, results[message.id], now, batch)
            if row["status"] == OutboxStatus.SENT:
                events.append(_event(message, "Sent", now, to=decision.recipient))
            elif row["status"] == OutboxStatus.FAILED:
                events.append(_event(message, "Failed", now, reason=row["error"]))
                if message.channel == MessageChannel.KAKAO:
                    fallbacks.append((message.id, row["error"]))
                answer = results[message.id]
                if (
                    isinstance(answer, ProviderError)
                    and answer.address_gone
                    and message.channel == MessageChannel.PUSH
                ):
                    gone.append((message.contact_id, decision.recipient))
        updates.append(row)
    _write_updates(session, updates)
    drop_push_tokens(session, ctx, gone)
    record_events(session, events)
    mark_due(session, ctx, [event.contact_id for event in events])
    if fallbacks:
        from funnelwise.messaging.fallback import fall_back_to_sms

        session.flush()
        for message_id, reason in fallbacks:
            fall_back_to_sms(session, ctx, message_id, reason)


def _sent_or_failed(
    message: ClaimedMessage,
    go: Go,
    prepared: Prepared,
    answer: Accepted | ProviderError,
    now: datetime,
    batch: Batch,
) -> dict[str, Any]:
    attempts = message.attempts + 1
    if isinstance(answer, Accepted):
        batch.sent += 1
        sent = {
            "status": OutboxStatus.SENT,
            "attempts": attempts,
            "sent_at": now,
            "recipient": go.recipient[:320],
            "provider": answer.provider,
            "provider_message_id": answer.provider_message_id,
            "error": None,
        }
        if answer.provider == "outbox":
            sent["rendered"] = prepared.rendered_of(message.id)
        return sent
    if answer.retryable and attempts < ATTEMPTS:
        batch.retried += 1
        return {
            "status": OutboxStatus.QUEUED,
            "attempts": attempts,
            "due_at": now + BACKOFF * 2 ** (attempts - 1),
            "error": answer.reason,
        }
    if isinstance(answer, OutcomeUnknown):
        batch.unknown += 1
        return {"status": OutboxStatus.UNKNOWN, "attempts": attempts, "error": answer.reason}
    batch.failed += 1
    batch.errors.append(answer.reason)
    tried = f" after {attempts} attempts" if answer.retryable else ""
    return {"status": OutboxStatus.FAILED, "attempts": attempts, "error": f"{answer.reason}{tried}"}


def _write_updates(session: Session, updates: Sequence[dict[str, Any]]) -> None:
    """One statement per set of changed columns: column arrays on PostgreSQL, else executemany."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    table = OutboxMessage.__table__
    for rows in groups.values():
        if dialect_name(session) == "postgresql":
            update_by_id(session, table, rows)
            continue
        # The SET clause comes from the rows' keys; only the id is renamed, away from its column.
        for row in rows:
            row["b_id"] = row.pop("id")
        session.execute(update(table).where(table.c.id == bindparam("b_id")), rows)


def _event(message: ClaimedMessage, what: str, at: datetime, **extra: Any) -> SystemEvent:
    return SystemEvent(
        message_id=f"msg-{message.id}-{what.lower()}-{message.attempts}",
        contact_id=message.contact_id,
        name=event_name(message.channel, what),
        at=at,
        properties=message.event_properties | extra,
    )
