"""A shop sends the Segment e-commerce events; orders appear, once each, with exact amounts."""

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.commerce.models import Order, OrderItem
from funnelwise.tracking.models import Event

Send = Callable[..., httpx.Response]


def order_completed(order_id: Any = "A-1001", message_id: str = "m-1", **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": message_id,
        "userId": "u-7",
        "timestamp": "2026-11-21T15:30:00+09:00",
        "properties": {"order_id": order_id, **properties},
    }


def orders(sessions: sessionmaker[Session]) -> list[Order]:
    with sessions() as session:
        return list(session.scalars(select(Order).order_by(Order.order_id)))


def items_of(sessions: sessionmaker[Session], order: Order) -> list[tuple[Any, ...]]:
    with sessions() as session:
        query = select(
            OrderItem.product_id,
            OrderItem.name,
            OrderItem.price_minor,
            OrderItem.quantity,
            OrderItem.properties,
        ).where(OrderItem.order_id == order.id)
        return [tuple(row) for row in session.execute(query.order_by(OrderItem.id))]


def events_named(sessions: sessionmaker[Session], name: str) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.name == name)) or 0


def test_an_order_completed_in_won_creates_the_order_with_its_items(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    response = send(
        order_completed(
            revenue=39000,
            shipping="3,000",
            coupon="WELCOME",
            affiliation="스마트스토어",
            products=[
                {"product_id": "P-1", "name": "텀블러", "price": 19000, "quantity": 1, "variant": "black"},
                {"product_id": "P-2", "name": "머그", "price": 10000, "quantity": 2},
            ],
        )
    )

    assert response.json() == {"success": True}
    [order] = orders(sessions)
    assert (order.order_id, order.status, order.currency) == ("A-1001", "completed", "KRW")
    assert (order.revenue_minor, order.shipping_minor, order.total_minor) == (39000, 3000, None)
    assert order.coupon == "WELCOME"
    assert order.properties == {"affiliation": "스마트스토어"}
    assert order.ordered_at.isoformat() == "2026-11-21T06:30:00+00:00"
    assert order.contact_id is not None
    assert items_of(sessions, order) == [
        ("P-1", "텀블러", 19000, 1, {"variant": "black"}),
        ("P-2", "머그", 10000, 2, {}),
    ]


def test_dollar_amounts_are_kept_in_cents_exactly(send: Send, sessions: sessionmaker[Session]) -> None:
    send(
        order_completed(
            orderId=None,
            order_id="US-1",
            currency="usd",
            revenue="19.99",
            tax=1.6,
            discount=0.1,
            products=[{"sku": "SKU-9", "name": "Mug", "price": 9.995}],
        )
    )

    [order] = orders(sessions)
    assert (order.currency, order.revenue_minor, order.tax_minor, order.discount_minor) == (
        "USD",
        1999,
        160,
        10,
    )
    # Half a cent rounds up: shops compute in floating point.
    assert items_of(sessions, order) == [(None, "Mug", 1000, 1, {})]


def test_orderid_as_older_libraries_send_it_and_a_revenue_taken_from_the_products(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    message = order_completed(products=[{"id": "P-1", "price": "12,000원", "quantity": "3"}])
    message["properties"] = {"orderId": 5001, "products": message["properties"]["products"]}

    send(message)

    [order] = orders(sessions)
    assert (order.order_id, order.revenue_minor) == ("5001", 36000)
    assert items_of(sessions, order) == [("P-1", None, 12000, 3, {})]


def test_sending_the_order_again_with_a_new_message_id_keeps_one_order(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(order_completed(revenue=39000, products=[{"product_id": "P-1", "price": 39000}]))

    send(order_completed(revenue=1, message_id="m-2"), order_completed(revenue=2, message_id="m-3"))

    [order] = orders(sessions)
    assert order.revenue_minor == 39000
    assert len(items_of(sessions, order)) == 1
    assert events_named(sessions, "Order Completed") == 3


def test_two_orders_in_one_batch_both_arrive(send: Send, sessions: sessionmaker[Session]) -> None:
    send(
        order_completed("B-2", "m-1", revenue=2000),
        order_completed("B-1", "m-2", revenue=1000),
        order_completed("B-2", "m-3", revenue=9999),
    )

    assert [(o.order_id, o.revenue_minor) for o in orders(sessions)] == [("B-1", 1000), ("B-2", 2000)]


def test_concurrent_duplicates_make_one_order(
    send: Send, tracking: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def post(number: int) -> None:
        message = order_completed(
            revenue=39000, message_id=f"race-{number}", products=[{"product_id": "P-1"}]
        )
        message["userId"] = f"u-{number}"
        barrier.wait()
        statuses.append(tracking.post("/v1/batch", json={"batch": [message]}).status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 6
    [order] = orders(sessions)
    assert len(items_of(sessions, order)) == 1
    assert events_named(sessions, "Order Completed") == 6


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        (
            {"order_id": None, "revenue": 1000},
            "properties.order_id: an order event needs the order's order_id",
        ),
        ({"revenue": -1000}, "properties.revenue: expected an amount of zero or more, got -1000"),
        ({"revenue": "lots"}, "properties.revenue: expected an amount such as 39000 or '19.99', got 'lots'"),
        (
            {"currency": "WON"},
            "properties.currency: unknown currency 'WON'; expected an ISO 4217 code such as 'KRW' or 'USD'",
        ),
        (
            {"products": [{"quantity": 0}]},
            "properties.products[0].quantity: expected 1 to 2147483647 items, got 0",
        ),
        (
            {"revenue": None, "products": [{"product_id": "p-1", "price": 9 * 10**18, "quantity": 2}]},
            "properties.products: the products' prices add up to more than an order can hold",
        ),
    ],
)
def test_a_bad_order_is_kept_in_the_log_but_makes_no_order(
    send: Send,
    sessions: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
    logged_warnings: Callable[[], list[tuple[str, str, str]]],
    properties: dict[str, Any],
    reason: str,
) -> None:
    message = order_completed(message_id="bad-1")
    message["properties"] |= properties

    response = send(message, order_completed("GOOD-1", "good-1", revenue=500))

    field, _, text = reason.partition(": ")
    assert response.json() == {"success": True}
    assert logged_warnings() == [("bad-1", field, text)]
    assert [o.order_id for o in orders(sessions)] == ["GOOD-1"]
    assert events_named(sessions, "Order Completed") == 2
    assert caplog.messages == [f"event bad-1 changed no order: {reason}"]


def test_a_full_refund_and_a_cancellation_mark_their_orders(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(order_completed("R-1", "m-1", revenue=39000), order_completed("C-1", "m-2", revenue=10000))

    send(
        {
            **order_completed("R-1", "m-3"),
            "event": "Order Refunded",
            "timestamp": "2026-11-22T09:00:00+09:00",
        },
        {
            **order_completed("C-1", "m-4"),
            "event": "Order Cancelled",
            "timestamp": "2026-11-22T09:10:00+09:00",
        },
    )

    refunded, cancelled = orders(sessions)[1], orders(sessions)[0]
    assert (refunded.status, refunded.refunded_at.isoformat()) == ("refunded", "2026-11-22T00:00:00+00:00")
    assert refunded.properties == {"refunded_minor": 39000}
    assert (cancelled.status, cancelled.cancelled_at.isoformat()) == (
        "cancelled",
        "2026-11-22T00:10:00+00:00",
    )


def test_partial_refunds_add_up_to_a_full_one(send: Send, sessions: sessionmaker[Session]) -> None:
    send(order_completed("P-1", "m-1", currency="USD", total="50.00", revenue="45.00"))

    send({**order_completed("P-1", "m-2", total="20.50"), "event": "Order Refunded"})
    [order] = orders(sessions)
    assert (order.status, order.properties) == ("partly_refunded", {"refunded_minor": 2050})

    send(
        {
            **order_completed("P-1", "m-3", products=[{"price": "14.75", "quantity": 2}]),
            "event": "Order Refunded",
        }
    )
    [order] = orders(sessions)
    assert (order.status, order.properties) == ("refunded", {"refunded_minor": 5000})


def test_a_refund_of_an_unknown_order_is_logged_and_changes_nothing(
    send: Send,
    sessions: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
    logged_warnings: Callable[[], list[tuple[str, str, str]]],
) -> None:
    response = send({**order_completed("NOPE", "m-1"), "event": "Order Refunded"})

    assert response.json() == {"success": True}
    assert logged_warnings() == [("m-1", "properties.order_id", "no order 'NOPE' has been completed")]
    assert orders(sessions) == []
    assert events_named(sessions, "Order Refunded") == 1
    assert caplog.messages == [
        "event m-1 changed no order: properties.order_id: no order 'NOPE' has been completed"
    ]


def test_a_visitors_order_becomes_the_contacts_when_the_visitor_identifies(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    anonymous = {**order_completed(revenue=39000), "anonymousId": "visitor-1"}
    del anonymous["userId"]
    send(anonymous)
    [order] = orders(sessions)
    assert (order.contact_id, order.anonymous_id) == (None, "visitor-1")

    send(
        {
            "type": "identify",
            "userId": "u-9",
            "anonymousId": "visitor-1",
            "traits": {"email": "mina@example.org"},
        }
    )

    [order] = orders(sessions)
    with sessions() as session:
        event = session.scalar(select(Event).where(Event.name == "Identify"))
        assert event is not None
    assert order.contact_id == event.contact_id
    assert order.contact_id is not None


def test_an_order_completed_and_refunded_in_one_batch_ends_refunded(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(
        {
            **order_completed("R-1", "m-2"),
            "event": "Order Refunded",
            "timestamp": "2026-11-21T16:00:00+09:00",
        },
        order_completed("R-1", "m-1", revenue=39000),
    )

    [order] = orders(sessions)
    assert (order.status, order.properties, order.revenue_minor) == (
        "refunded",
        {"refunded_minor": 39000},
        39000,
    )
