"""Queueing contacts for the worker's reactions, in the transaction that changed them."""

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name
from funnelwise.db.notify import notify_workers
from funnelwise.db.staging import copy_rows
from funnelwise.reactions.models import DueContact

# From this many contacts on, PostgreSQL takes the queue rows by COPY (a broadcast's sends).
COPY_FROM = 100


def mark_due(session: Session, ctx: Context, contact_ids: Iterable[int | None]) -> None:
    """Queues these contacts (None is skipped): committed with the change, so none is ever missed."""
    ids = sorted({contact_id for contact_id in contact_ids if contact_id is not None})
    if not ids:
        return
    now = ctx.clock.now()
    rows = [{"contact_id": contact_id, "queued_at": now} for contact_id in ids]
    if len(rows) >= COPY_FROM and dialect_name(session) == "postgresql":
        copy_rows(session, DueContact.__table__, rows)
    else:
        session.execute(insert(DueContact), rows)
    notify_workers(session)
