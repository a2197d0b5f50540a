"""Working off the queue: each due contact's scores, stage, owner and segments are decided again.

In that order, as the log's consumers depend on each other: stage rules read scores, assignment
reads the new stage, and segments read all three. A batch of contacts is one transaction.
Contacts are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL and each is held by a
transaction-scoped advisory lock while it is decided, so any number of workers share the queue
and one contact is never decided by two at once: its changes happen in the order of its events.
The decisions and the removal of the claimed rows commit together, so a crash repeats a batch
(whose re-decision changes nothing) and never loses one.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, one_of, plan_for_these_values
from funnelwise.db.writes import senders_busy, write_retrying
from funnelwise.reactions.models import DueContact
from funnelwise.sales.assignment import assign_contacts
from funnelwise.sales.lifecycle import apply_all_stage_rules
from funnelwise.sales.upkeep import process_batch
from funnelwise.scoring.upkeep import update_scores
from funnelwise.segments.upkeep import refresh_all, update_memberships
from funnelwise.workflows.triggers import react_to_contacts, segment_changes_since

# Contacts decided per transaction: with 50 segments a contact costs about 10 ms, so a batch
# holds SQLite's one write lock for about a second at most.
BATCH = 100
# While senders wait on SQLite's writer, a batch takes only this many.
BITE = 5
# From this many queued rows on (an import, a list upload), one set-based refresh of every segment
# is cheaper than deciding the contacts one by one.
BULK = 2_000
# The advisory-lock namespace of contacts being decided: the two-key form keeps it apart from any
# other use of advisory locks. Ids past 2^31 share keys; two such contacts then merely take turns.
_LOCK_SPACE = 0x46570001


@dataclass(frozen=True)
class Reacted:
    """What one call of `react_pending` did."""

    claimed: int = 0
    contacts: int = 0
    score_changes: int = 0
    stage_changes: int = 0
    assignments: int = 0
    segment_changes: int = 0
    enrollments: int = 0


class QueueStatus(BaseModel):
    due: int


def react_pending(
    sessions: sessionmaker[Session], ctx: Context, limit: int = BATCH, bulk_from: int = BULK
) -> Reacted:
    """Decides the oldest queued contacts again; returns what it did (nothing when the queue is empty)."""
    size = min(limit, BITE) if senders_busy(sessions) else limit
    return write_retrying(sessions, lambda session: _react(session, ctx, size, bulk_from))


def react_all(sessions: sessionmaker[Session], ctx: Context) -> int:
    """Works the queue off (tests, the CLI); the contacts decided."""
    total = 0
    while (done := react_pending(sessions, ctx)).claimed:
        total += done.contacts
    return total


def queue_status(session: Session) -> QueueStatus:
    return QueueStatus(due=session.scalar(select(func.count(func.distinct(DueContact.contact_id)))) or 0)


def _react(session: Session, ctx: Context, limit: int, bulk_from: int) -> Reacted:
    if _queued_beyond(session, bulk_from):
        return _react_in_bulk(session, ctx)
    query = (
        select(DueContact.id, DueContact.contact_id, DueContact.queued_at)
        .order_by(DueContact.id)
        .limit(limit)
    )
    if dialect_name(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = list(session.execute(query))
    if not claimed:
        return Reacted()
    plan_for_these_values(session)
    contacts = _lock(session, sorted({row.contact_id for row in claimed}))
    since = min(row.queued_at for row in claimed)
    reacted = _decide(session, ctx, contacts, since)
    done = [row.id for row in claimed if row.contact_id in set(contacts)]
    if done:
        session.execute(delete(DueContact).where(one_of(session, DueContact.id, done)))
    return replace(reacted, claimed=len(claimed))


def _decide(session: Session, ctx: Context, contacts: list[int], since: datetime) -> Reacted:
    scores = update_scores(session, ctx, contacts)
    sales = process_batch(session, ctx, contacts)
    segments = update_memberships(session, ctx, contacts)
    enrolled = react_to_contacts(session, ctx, contacts, since)
    return Reacted(
        contacts=len(contacts),
        score_changes=len(scores),
        stage_changes=len(sales.stage_changes),
        assignments=len(sales.assignments),
        segment_changes=len(segments),
        enrollments=enrolled,
    )


def _queued_beyond(session: Session, rows: int) -> bool:
    return session.scalar(select(DueContact.id).order_by(DueContact.id).offset(rows).limit(1)) is not None


def _react_in_bulk(session: Session, ctx: Context) -> Reacted:
    """Decides every queued contact no other worker holds: scores by chunks, the rest set-based.

    Rows queued by transactions that have not committed yet are not seen, so not taken: they
    wait for the next pass, which sees their changes.
    """
    free = select(DueContact.id).with_for_update(skip_locked=True)
    taken = session.execute(
        delete(DueContact)
        .where(DueContact.id.in_(free))
        .returning(DueContact.contact_id, DueContact.queued_at)
    ).all()
    if not taken:
        return Reacted()
    plan_for_these_values(session)
    contacts = sorted({row.contact_id for row in taken})
    since = min(row.queued_at for row in taken)
    scores = sum(len(update_scores(session, ctx, chunk)) for chunk in _chunks(contacts))
    stages = apply_all_stage_rules(session, ctx)
    assignments = assign_contacts(session, ctx, contacts)
    refreshed = refresh_all(session, ctx)
    # The refresh moved contacts in and out of segments beyond those queued: their events count too.
    enrolled = sum(react_to_contacts(session, ctx, chunk, since) for chunk in _chunks(contacts))
    enrolled += sum(
        react_to_contacts(session, ctx, chunk, since)
        for chunk in _chunks(segment_changes_since(session, ctx, since, exclude=set(contacts)))
    )
    return Reacted(
        claimed=len(contacts),
        contacts=len(contacts),
        score_changes=scores,
        stage_changes=stages.changed,
        assignments=len(assignments),
        segment_changes=sum(result.entered + result.exited for result in refreshed),
        enrollments=enrolled,
    )


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


def _lock(session: Session, contact_ids: list[int]) -> list[int]:
    """The contacts no other worker is deciding now, locked for this transaction (PostgreSQL)."""
    if dialect_name(session) != "postgresql":
        return contact_ids  # SQLite runs one writing transaction at a time.
    free = text(
        "SELECT id FROM unnest(:ids) AS id "
        "WHERE pg_try_advisory_xact_lock(:space, CAST(id % 2147483647 AS integer))"
    ).bindparams(bindparam("ids", contact_ids, type_=ARRAY(BIGINT)), space=_LOCK_SPACE)
    return sorted(session.scalars(free))
