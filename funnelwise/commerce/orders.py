"""Orders from the Segment e-commerce events: Order Completed creates one, refunds and cancels mark it."""

from typing import Any

from sqlalchemy.orm import Session

from funnelwise.context import Context


def record_commerce_events(session: Session, ctx: Context, events: list[dict[str, Any]]) -> None:
    """Applies the newly stored e-commerce events of a batch to the orders table."""
