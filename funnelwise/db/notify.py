"""Waking the workers of every process the moment a transaction leaves work for them."""

from sqlalchemy import text
from sqlalchemy.orm import Session

from funnelwise.db.dialect import dialect_name

# Workers LISTEN on this channel; PostgreSQL delivers the notification when the transaction that
# sent it commits, never before, and never if it rolls back.
CHANNEL = "funnelwise_work"


def notify_workers(session: Session) -> None:
    """On PostgreSQL, wakes every listening worker once this transaction commits."""
    if dialect_name(session) == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))
