"""An operator loads a shop's product catalogue and order history from its CSV exports."""

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.commerce import order_import
from funnelwise.commerce.models import Order, OrderItem, Product
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.tracking.models import Event
from tests.cli.support import Funnelwise, write
from tests.factories import make_contact


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url)


def report(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def products(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as session:
        query = select(
            Product.product_id, Product.name, Product.category, Product.price_minor, Product.currency
        )
        return [tuple(row) for row in session.execute(query.order_by(Product.product_id))]


def orders(sessions: sessionmaker[Session]) -> dict[str, dict[str, Any]]:
    """Each order with its customer's email or user id, its money and its items."""
    with sessions() as session:
        found = {}
        for order in session.scalars(select(Order).order_by(Order.order_id)):
            contact = session.get(Contact, order.contact_id) if order.contact_id else None
            items = session.execute(
                select(OrderItem.product_id, OrderItem.price_minor, OrderItem.quantity)
                .where(OrderItem.order_id == order.id)
                .order_by(OrderItem.id)
            )
            found[order.order_id] = {
                "customer": contact and (contact.email or contact.user_id),
                "ordered_at": order.ordered_at.isoformat(),
                "money": (order.currency, order.revenue_minor, order.shipping_minor, order.coupon),
                "items": [tuple(item) for item in items],
            }
        return found


# Products -----------------------------------------------------------------------------------------------


def test_a_catalogue_with_korean_headers_is_imported_and_bad_rows_reported(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    catalogue = write(
        tmp_path / "상품.csv",
        "상품코드,상품명,카테고리,브랜드,판매가,통화,URL,이미지,재고\n"
        'P-1,텀블러,주방,Acme,"39,000원",,https://shop.example/p/1,https://img.example/1.jpg,5\n'
        "P-2,머그,주방,,공짜,,,,3\n"
        "P-3,,주방,,1000,,,,1\n"
        "US-1,Mug,kitchen,,19.99,usd,,,9\n",
    )

    result = funnelwise("import", "products", catalogue)

    assert result.exit_code == 1, result.output
    assert "4 rows: 2 created, 0 updated, 0 unchanged, 2 failed" in result.stderr
    assert "ignored columns: 재고" in result.stderr
    assert report(tmp_path / "상품.csv.errors.csv") == [
        [
            "line",
            "reason",
            "상품코드",
            "상품명",
            "카테고리",
            "브랜드",
            "판매가",
            "통화",
            "URL",
            "이미지",
            "재고",
        ],
        [
            "3",
            "price: expected an amount such as 39000 or '19.99', got '공짜'",
            "P-2",
            "머그",
            "주방",
            "",
            "공짜",
            "",
            "",
            "",
            "3",
        ],
        ["4", "name: Field required", "P-3", "", "주방", "", "1000", "", "", "", "1"],
    ]
    assert products(sessions) == [
        ("P-1", "텀블러", "주방", 39000, "KRW"),
        ("US-1", "Mug", "kitchen", 1999, "USD"),
    ]

    again = funnelwise("import", "products", catalogue)

    assert "4 rows: 0 created, 0 updated, 2 unchanged, 2 failed" in again.stderr


def test_a_catalogue_without_a_product_id_column_is_refused_before_anything_is_stored(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    catalogue = write(tmp_path / "products.csv", "name,price\nMug,1000\n")

    result = funnelwise("import", "products", catalogue)

    assert result.exit_code == 2
    assert (
        "error: columns: no column holds product_id (a header such as productid, id, 상품id)" in result.stderr
    )
    assert products(sessions) == []


# Orders -------------------------------------------------------------------------------------------------

SHOP_EXPORT = (
    "주문번호,이메일,회원ID,주문일시,상품ID,상품명,단가,수량,결제금액,배송비,쿠폰\n"
    'A-1,mina@example.org,,2026.11.01 14:30,P-1,텀블러,"19,000원",1,"41,000원",3000,WELCOME\n'
    "A-1,,,,P-2,머그,10000,2,,,\n"
    "A-2,,u-77,2026-11-02 09:00,P-1,텀블러,19000,1,19000,,\n"
    "A-3,jun@example.org,,2026-11-03 10:00,P-1,텀블러,19000,x,,,\n"
    "A-3,,,,P-2,머그,10000,1,,,\n"
    "A-4,not-an-email,,2026-11-03,P-1,텀블러,19000,1,,,\n"
    "A-1,,,,P-3,컵,5000,1,,,\n"
    "A-5,,,2026-11-04,P-1,텀블러,19000,1,20000,,\n"
    "A-5,,u-78,,P-2,머그,10000,1,30000,,\n"
)


def test_a_korean_shop_export_in_cp949_becomes_orders_with_their_customers(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    export = write(tmp_path / "주문.csv", SHOP_EXPORT, "cp949")

    result = funnelwise("import", "orders", export)

    assert result.exit_code == 1, result.output
    assert "9 rows, 2 orders: 2 imported, 0 already imported; 6 rows failed" in result.stderr
    bad_rows = report(tmp_path / "주문.csv.errors.csv")
    assert bad_rows[0] == ["line", "reason", *SHOP_EXPORT.splitlines()[0].split(",")]
    assert [row[:2] for row in bad_rows[1:]] == [
        ["5", "quantity: expected a whole number of items, got 'x'"],
        ["6", "order_id: order 'A-3' has a bad row on line 5; none of its rows were imported"],
        ["7", "email: invalid email 'not-an-email': An email address must have an @-sign."],
        ["8", "order_id: the rows of order 'A-1' must be next to each other; its rows ended on line 3"],
        ["9", "order_id: order 'A-5' has a bad row on line 10; none of its rows were imported"],
        ["10", "revenue: '30000' differs from line 9 of the same order"],
    ]
    assert bad_rows[1][2:] == [
        "A-3",
        "jun@example.org",
        "",
        "2026-11-03 10:00",
        "P-1",
        "텀블러",
        "19000",
        "x",
        "",
        "",
        "",
    ]
    assert orders(sessions) == {
        "A-1": {
            "customer": "mina@example.org",
            "ordered_at": "2026-11-01T05:30:00+00:00",
            "money": ("KRW", 41000, 3000, "WELCOME"),
            "items": [("P-1", 19000, 1), ("P-2", 10000, 2)],
        },
        "A-2": {
            "customer": "u-77",
            "ordered_at": "2026-11-02T00:00:00+00:00",
            "money": ("KRW", 19000, None, None),
            "items": [("P-1", 19000, 1)],
        },
    }


def test_importing_the_orders_again_stores_nothing_new(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    export = write(
        tmp_path / "orders.csv",
        "Order ID,Email,Ordered At,Product ID,Price,Quantity,Currency\n"
        "US-1,Jane@Example.com,2026-11-01T09:00:00-05:00,P-1,19.99,2,USD\n"
        "US-2,jane@example.com,2026-11-02T09:00:00-05:00,P-2,5.00,1,USD\n",
    )
    first = funnelwise("import", "orders", export)

    again = funnelwise("import", "orders", export)

    assert first.exit_code == 0, first.output
    assert "2 rows, 2 orders: 2 imported, 0 already imported; 0 rows failed" in first.stderr
    assert again.exit_code == 0, again.output
    assert "2 rows, 2 orders: 0 imported, 2 already imported; 0 rows failed" in again.stderr
    assert {order_id: order["money"] for order_id, order in orders(sessions).items()} == {
        "US-1": ("USD", 3998, None, None),
        "US-2": ("USD", 500, None, None),
    }
    with sessions() as session:
        # One customer, named by email, told to the log once by an identify call.
        assert session.scalars(select(Contact.email)).all() == ["jane@example.com"]
        names = session.scalars(select(Event.name).order_by(Event.name)).all()
        assert names == ["Identify", "Order Completed", "Order Completed"]


def test_an_order_names_a_known_contact_by_email_and_gives_it_its_user_id(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], session: Session, ctx: Context, tmp_path: Path
) -> None:
    known = make_contact(session, ctx, email="mina@example.org")
    export = write(
        tmp_path / "orders.csv",
        "주문번호,이메일,회원ID,주문일시,상품ID,가격\nA-1,mina@example.org,u-1,2026-11-01 10:00,P-1,1000\n",
    )

    result = funnelwise("import", "orders", export)

    assert result.exit_code == 0, result.output
    with sessions() as check:
        order = check.scalars(select(Order)).one()
        contact = check.get(Contact, known.id)
        assert (order.contact_id, contact and contact.user_id) == (known.id, "u-1")


def test_the_rows_of_one_order_may_straddle_two_batches(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_import, "BATCH_ORDERS", 2)
    rows = [f"O-{n},u-{n},2026-11-01,P-{item},1000,1" for n in range(1, 6) for item in range(1, n + 1)]
    export = write(
        tmp_path / "orders.csv", "order_id,user_id,order_date,product_id,price,qty\n" + "\n".join(rows)
    )

    result = funnelwise("import", "orders", export)

    assert result.exit_code == 0, result.output
    assert "15 rows, 5 orders: 5 imported" in result.stderr
    assert {order_id: len(order["items"]) for order_id, order in orders(sessions).items()} == {
        "O-1": 1,
        "O-2": 2,
        "O-3": 3,
        "O-4": 4,
        "O-5": 5,
    }
    assert {order["money"][1] for order in orders(sessions).values()} == {1000, 2000, 3000, 4000, 5000}


def test_an_export_without_a_customer_column_is_refused(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    export = write(tmp_path / "orders.csv", "주문번호,주문일시\nA-1,2026-11-01\n")

    result = funnelwise("import", "orders", export)

    assert result.exit_code == 2
    assert "error: columns: no column holds the customer's email or user id (이메일, 회원ID)" in result.stderr
    assert orders(sessions) == {}
