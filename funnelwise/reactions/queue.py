"""Queueing contacts for the worker's reactions, in the transaction that changed them."""

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.db.notify import notify_workers
from funnelwise.reactions.models import DueContact


def mark_due(session: Session, ctx: Context, contact_ids: Iterable[int | None]) -> None:
    """Queues these contacts (None is skipped): committed with the change, so none is ever missed."""
    ids = sorted({contact_id for contact_id in contact_ids if contact_id is not None})
    if not ids:
        return
    now = ctx.clock.now()
    session.execute(insert(DueContact), [{"contact_id": contact_id, "queued_at": now} for contact_id in ids])
    notify_workers(session)
