"""The resolver: works out who each accepted message is about and appends it to the event log.

It takes the oldest waiting messages of the intake in one batch (on PostgreSQL `FOR UPDATE SKIP
LOCKED`, so any number of workers share the work), stores them through the same path imports use,
and deletes them from the intake in the same transaction: a message is logged exactly once,
whatever crashes. A message that fails even on its own is marked failed and waits for a retry;
it never blocks the messages behind it.
"""

import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, one_of, plan_for_these_values
from funnelwise.db.notify import notify_workers
from funnelwise.db.writes import senders_busy, write_retrying
from funnelwise.errors import FieldError
from funnelwise.tracking.ingest import store_messages
from funnelwise.tracking.intake import load
from funnelwise.tracking.messages import Message
from funnelwise.tracking.models import IngestWarning, IntakeMessage

logger = logging.getLogger(__name__)

# Messages per transaction: large enough that a batch's fixed statements cost little per message;
# on SQLite small enough that accepting requests queued behind it for the one write lock wait
# briefly. PostgreSQL accepts while a batch runs, and a tenfold batch logs 1.7 times as fast.
BATCH = {"sqlite": 100, "postgresql": 1000}
# When senders wait on SQLite's one writer anyway, the resolver takes only this many, so none of
# them waits long behind it.
BITE = 10


@dataclass(frozen=True)
class Resolved:
    """What one call of `resolve_pending` did."""

    claimed: int = 0
    logged: int = 0
    failed: int = 0


class IntakeStatus(BaseModel):
    waiting: int
    failed: int


def resolve_pending(sessions: sessionmaker[Session], ctx: Context, limit: int | None = None) -> Resolved:
    """Logs up to `limit` of the oldest waiting messages; a batch that fails is retried one by one."""
    limit = limit or BATCH[sessions.kw["bind"].dialect.name]
    try:
        return write_retrying(
            sessions, lambda session: _resolve(session, ctx, _claim(session, _size(sessions, limit)))
        )
    except (OperationalError, InterfaceError):
        raise  # The database is away: nothing is wrong with the messages, they wait for it.
    except Exception:
        # A message that breaks the batch must not hold up the others; which one it is shows
        # when each goes alone.
        logger.exception("a batch of the intake failed; resolving its messages one at a time")
    return _resolve_one_by_one(sessions, ctx, limit)


def resolve_all(sessions: sessionmaker[Session], ctx: Context) -> int:
    """Resolves until nothing is waiting (tests, imports, the CLI); the messages logged or failed."""
    total = 0
    while (done := resolve_pending(sessions, ctx)).claimed:
        total += done.claimed
    return total


def intake_status(session: Session) -> IntakeStatus:
    failed = func.count().filter(IntakeMessage.failed_at.is_not(None))
    waiting, failures = session.execute(select(func.count(), failed).select_from(IntakeMessage)).one()
    return IntakeStatus(waiting=waiting - failures, failed=failures)


def retry_failed(session: Session) -> int:
    """Puts the failed messages back in the queue; how many."""
    result = session.execute(
        update(IntakeMessage)
        .where(IntakeMessage.failed_at.is_not(None))
        .values(failed_at=None, error=None)
        .execution_options(synchronize_session=False)
    )
    notify_workers(session)
    return result.rowcount


def _size(sessions: sessionmaker[Session], limit: int) -> int:
    return min(limit, BITE) if senders_busy(sessions) else limit


def _claim(session: Session, limit: int, intake_id: int | None = None) -> list[Any]:
    query = select(IntakeMessage.id, IntakeMessage.source_id, IntakeMessage.payload).where(
        IntakeMessage.failed_at.is_(None)
    )
    if intake_id is not None:
        query = query.where(IntakeMessage.id == intake_id)
    query = query.order_by(IntakeMessage.id).limit(limit)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query))


def _resolve(session: Session, ctx: Context, claimed: list[Any]) -> Resolved:
    if not claimed:
        return Resolved()
    plan_for_these_values(session)
    messages = [(index, load(row.payload, row.source_id)) for index, row in enumerate(claimed)]
    logged, warnings = store_messages(session, ctx, messages)
    session.execute(
        delete(IntakeMessage).where(one_of(session, IntakeMessage.id, [row.id for row in claimed]))
    )
    _keep_warnings(session, ctx, messages, warnings)
    return Resolved(claimed=len(claimed), logged=logged)


def _keep_warnings(
    session: Session,
    ctx: Context,
    messages: list[tuple[int, Message]],
    warnings: list[tuple[int, FieldError]],
) -> None:
    if not warnings:
        return
    now = ctx.clock.now()
    rows = []
    for index, error in warnings:
        message = messages[index][1]
        rows.append(
            {
                "source_id": message.source_id,
                "message_id": message.message_id,
                "field": error.field,
                "message": error.message,
                "created_at": now,
            }
        )
    session.execute(insert(IngestWarning), rows)


def _resolve_one_by_one(sessions: sessionmaker[Session], ctx: Context, limit: int) -> Resolved:
    with sessions() as session:
        ids = [row.id for row in _claim(session, limit)]
    logged = failed = 0
    for intake_id in ids:
        try:
            done = write_retrying(sessions, lambda s, i=intake_id: _resolve(s, ctx, _claim(s, 1, i)))
            logged += done.logged
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # One message's fault, kept on its row for whoever looks.
            logger.exception("intake message %s failed to resolve", intake_id)
            _mark_failed(sessions, ctx, intake_id, exc)
            failed += 1
    return Resolved(claimed=len(ids), logged=logged, failed=failed)


def _mark_failed(sessions: sessionmaker[Session], ctx: Context, intake_id: int, exc: Exception) -> None:
    with sessions.begin() as session:
        session.execute(
            update(IntakeMessage)
            .where(IntakeMessage.id == intake_id)
            .values(failed_at=ctx.clock.now(), error=f"{type(exc).__name__}: {exc}"[:2000])
        )
