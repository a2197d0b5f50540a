"""Orders from the Segment e-commerce events: Order Completed creates one, refunds and cancels mark it."""

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.commerce.models import Order, OrderItem
from funnelwise.commerce.order_events import (
    ORDER_CANCELLED,
    ORDER_COMPLETED,
    ORDER_REFUNDED,
    BadOrder,
    OrderDraft,
    order_id_of,
    read_completed,
    refund_amount,
)
from funnelwise.context import Context
from funnelwise.db.dialect import insert
from funnelwise.errors import FieldError

logger = logging.getLogger(__name__)

TRACK = "track"


class OrderStatus(StrEnum):
    COMPLETED = "completed"
    PARTLY_REFUNDED = "partly_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class CommerceWarning:
    """An e-commerce event stored in the log that changed no order, and why."""

    message_id: str
    error: FieldError


def record_commerce_events(
    session: Session, ctx: Context, events: list[dict[str, Any]]
) -> list[CommerceWarning]:
    """Applies the newly stored e-commerce events of a batch to the orders table.

    A bad order never fails the batch: its event stays in the log, and a warning says why it
    made no order.
    """
    warnings: list[CommerceWarning] = []
    tracked = [e for e in events if e["type"] == TRACK]
    _create_orders(session, ctx, [e for e in tracked if e["name"] == ORDER_COMPLETED], warnings)
    changes = [e for e in tracked if e["name"] in (ORDER_REFUNDED, ORDER_CANCELLED)]
    for event in sorted(changes, key=lambda e: e["occurred_at"]):
        try:
            _apply_change(session, ctx, event)
        except BadOrder as exc:
            warnings.append(CommerceWarning(event["message_id"], exc.error))
    for warning in warnings:
        logger.warning(
            "event %s changed no order: %s: %s",
            warning.message_id,
            warning.error.field,
            warning.error.message,
        )
    return warnings


def _create_orders(
    session: Session, ctx: Context, events: list[dict[str, Any]], warnings: list[CommerceWarning]
) -> None:
    """Inserts the batch's new orders in one statement; an order id stored before is left alone.

    ON CONFLICT DO NOTHING makes a concurrent duplicate wait for the first writer and then
    skip, so two Order Completed events of one order, however they race, make one order.
    """
    drafts: dict[str, tuple[OrderDraft, dict[str, Any]]] = {}
    for event in events:
        try:
            draft = read_completed(event["properties"])
        except BadOrder as exc:
            warnings.append(CommerceWarning(event["message_id"], exc.error))
            continue
        drafts.setdefault(draft.order_id, (draft, event))
    if not drafts:
        return
    now = ctx.clock.now()
    # In one global order, so that concurrent batches lock order ids without deadlocking.
    rows = [_order_row(draft, event, now) for _, (draft, event) in sorted(drafts.items())]
    table = Order.__table__
    statement = insert(session, table).on_conflict_do_nothing(index_elements=["order_id"])
    created = dict(session.execute(statement.returning(table.c.order_id, table.c.id), rows).all())
    items = [
        {"order_id": order_pk, **item}
        for order_id, order_pk in created.items()
        for item in drafts[order_id][0].items
    ]
    if items:
        session.execute(insert(session, OrderItem.__table__), items)


def _order_row(draft: OrderDraft, event: dict[str, Any], now: Any) -> dict[str, Any]:
    return {
        "order_id": draft.order_id,
        "contact_id": event["contact_id"],
        "anonymous_id": event["anonymous_id"],
        "status": OrderStatus.COMPLETED.value,
        "currency": draft.currency,
        "revenue_minor": draft.revenue_minor,
        "total_minor": draft.total_minor,
        "discount_minor": draft.discount_minor,
        "shipping_minor": draft.shipping_minor,
        "tax_minor": draft.tax_minor,
        "coupon": draft.coupon,
        "properties": draft.properties,
        "ordered_at": event["occurred_at"],
        "created_at": now,
        "updated_at": now,
    }


def _apply_change(session: Session, ctx: Context, event: dict[str, Any]) -> None:
    order_id = order_id_of(event["properties"])
    # Locked, so two refunds of one order arriving together both count.
    order = session.scalar(select(Order).where(Order.order_id == order_id).with_for_update())
    if order is None:
        raise BadOrder("properties.order_id", f"no order {order_id!r} has been completed")
    if event["name"] == ORDER_CANCELLED:
        order.status = OrderStatus.CANCELLED.value
        order.cancelled_at = order.cancelled_at or event["occurred_at"]
    else:
        _refund(order, refund_amount(event["properties"], order.currency), event)
    order.updated_at = ctx.clock.now()


def _refund(order: Order, amount: int | None, event: dict[str, Any]) -> None:
    """Adds a refund: all of the order's value when no amount is given, else what it says."""
    worth = order.total_minor if order.total_minor is not None else order.revenue_minor
    refunded = min(worth, order.properties.get("refunded_minor", 0) + (worth if amount is None else amount))
    order.properties = {**order.properties, "refunded_minor": refunded}
    order.refunded_at = event["occurred_at"]
    if order.status != OrderStatus.CANCELLED:
        full = refunded >= worth
        order.status = (OrderStatus.REFUNDED if full else OrderStatus.PARTLY_REFUNDED).value
