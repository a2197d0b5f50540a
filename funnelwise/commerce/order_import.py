"""Importing historic orders from a shop's CSV export: each order becomes an Order Completed event.

One row per line item; the rows of one order lie next to each other. Every order goes into the
event log through the tracking API's own ingest path, which creates its contact and its order.
"""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.commerce.csv_rows import match_columns
from funnelwise.commerce.money import DEFAULT_CURRENCY, currency_code, parse_amount, to_minor
from funnelwise.commerce.order_events import MAX_ID, ORDER_COMPLETED, read_quantity
from funnelwise.contacts.normalize import normalize_email
from funnelwise.context import Context
from funnelwise.csvfile import RowError, open_csv
from funnelwise.db.dialect import one_of
from funnelwise.errors import FieldError, InvalidInput
from funnelwise.tracking.ingest import ingest, read_messages
from funnelwise.tracking.models import Event

BATCH_ORDERS = 500
MESSAGE_PREFIX = "order-import-"
COLUMNS = {
    "order_id": ("orderid", "ordernumber", "orderno", "주문번호", "주문id", "주문코드"),
    "email": ("email", "emailaddress", "customeremail", "이메일", "주문자이메일", "메일"),
    "user_id": ("userid", "customerid", "memberid", "회원id", "회원아이디", "고객번호", "고객id"),
    "ordered_at": (
        "orderedat",
        "orderdate",
        "ordertime",
        "date",
        "주문일시",
        "주문일",
        "주문일자",
        "주문시각",
    ),
    "currency": ("currency", "통화"),
    "product_id": ("productid", "상품id", "상품코드", "상품번호"),
    "sku": ("sku",),
    "name": ("productname", "name", "상품명"),
    "category": ("category", "카테고리"),
    "price": ("price", "unitprice", "단가", "가격", "판매가"),
    "quantity": ("quantity", "qty", "수량", "주문수량"),
    "revenue": ("revenue", "결제금액", "매출", "매출액", "실결제금액"),
    "total": ("total", "ordertotal", "총액", "주문금액", "총주문금액"),
    "discount": ("discount", "할인", "할인금액"),
    "shipping": ("shipping", "shippingfee", "배송비"),
    "tax": ("tax", "세금", "부가세"),
    "coupon": ("coupon", "couponcode", "쿠폰", "쿠폰코드"),
}
_AMOUNTS = ("revenue", "total", "discount", "shipping", "tax")
_ORDER_FIELDS = ("email", "user_id", "ordered_at", "currency", "coupon", *_AMOUNTS)
_ITEM_FIELDS = ("product_id", "sku", "name", "category", "price", "quantity")
_DATE = re.compile(r"^(\d{4})[./-](\d{1,2})[./-](\d{1,2})")


@dataclass
class OrderImportSummary:
    rows: int = 0
    orders: int = 0
    imported: int = 0
    already_imported: int = 0
    failed: int = 0
    ignored_columns: list[str] = field(default_factory=list)


@dataclass
class _Order:
    """The rows of one order read so far: its order-level values, line items and row errors."""

    order_id: str
    rows: list[tuple[int, list[str], list[FieldError]]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    found_on: dict[str, int] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    items: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def add(self, line: int, cells: list[str], row: dict[str, str], tz: ZoneInfo) -> None:
        errors: list[FieldError] = []
        for name in _ORDER_FIELDS:
            if name not in row:
                continue
            try:
                value = _order_value(name, row[name], tz)
            except ValueError as exc:
                errors.append(FieldError(name, str(exc)))
                self.refused.add(name)
                continue
            if name in self.values and self.values[name] != value:
                where = self.found_on[name]
                errors.append(FieldError(name, f"{row[name]!r} differs from line {where} of the same order"))
            self.values.setdefault(name, value)
            self.found_on.setdefault(name, line)
        if any(name in row for name in _ITEM_FIELDS):
            self.items.append((line, _item(row, errors)))
        self.rows.append((line, cells, errors))

    def check(self) -> None:
        """Adds the errors only the whole order shows: what no row gave, amounts too large to store."""
        first_errors = self.rows[0][2]
        if "ordered_at" not in self.values:
            first_errors.append(FieldError("ordered_at", "no row of the order says when it was placed"))
        # A row whose email is bad has its own error already.
        if not any(name in self.found_on or name in self.refused for name in ("email", "user_id")):
            first_errors.append(
                FieldError("email", "no row of the order names the customer's email or user id")
            )
        currency = self.values.get("currency", DEFAULT_CURRENCY)
        errors_on = {line: errors for line, _cells, errors in self.rows}
        for name in _AMOUNTS:
            if name in self.values:
                _check_minor(self.values[name], currency, name, errors_on[self.found_on[name]])
        for line, item in self.items:
            if item["price"] is not None:
                _check_minor(item["price"], currency, "price", errors_on[line])

    def failures(self, headers: list[str]) -> list[RowError]:
        """Every row of a bad order: the bad ones with their reasons, the others pointing to them."""
        bad = [line for line, _cells, errors in self.rows if errors]
        if not bad:
            return []
        also = FieldError(
            "order_id",
            f"order {self.order_id!r} has a bad row on line {bad[0]}; none of its rows were imported",
        )
        return [RowError(line, errors or [also], cells, headers) for line, cells, errors in self.rows]


def import_orders(
    sessions: sessionmaker[Session],
    ctx: Context,
    stream: IO[bytes],
    *,
    encoding: str | None = None,
    on_error: Callable[[RowError], None],
    on_progress: Callable[[int], None] | None = None,
) -> OrderImportSummary:
    """Stores every good order as an Order Completed event, each batch in its own transaction.

    Its messageId is made from the order id, so importing the file again stores nothing new.
    """
    source = open_csv(stream, encoding)
    columns = match_columns(source.headers, COLUMNS, required=("order_id", "ordered_at"))
    if "email" not in columns.targets and "user_id" not in columns.targets:
        raise InvalidInput.single(
            "columns", "no column holds the customer's email or user id (이메일, 회원ID)"
        )
    summary = OrderImportSummary(ignored_columns=columns.ignored)
    batch = _Batch(sessions, ctx, source.headers, summary, on_error)
    current: _Order | None = None
    ended: dict[str, int] = {}
    for line, cells in source.rows:
        summary.rows += 1
        row = columns.row(cells)
        order_id = row.get("order_id", "")
        if current is not None and current.order_id == order_id:
            current.add(line, cells, row, ctx.settings.tz)
            continue
        if current is not None:
            ended[current.order_id] = current.rows[-1][0]
            batch.add(current)
            current = None
        error = _order_id_error(order_id, ended)
        if error is not None:
            batch.fail(RowError(line, [error], cells, source.headers))
        else:
            current = _Order(order_id)
            current.add(line, cells, row, ctx.settings.tz)
        if batch.full():
            batch.flush()
            if on_progress:
                on_progress(source.bytes_read())
    if current is not None:
        batch.add(current)
    batch.flush()
    if on_progress:
        on_progress(source.bytes_read())
    return summary


def _order_id_error(order_id: str, ended: dict[str, int]) -> FieldError | None:
    if not order_id:
        return FieldError("order_id", "every row needs the id of its order")
    if len(order_id) > MAX_ID:
        return FieldError("order_id", f"longer than {MAX_ID} characters")
    if order_id in ended:
        return FieldError(
            "order_id",
            f"the rows of order {order_id!r} must be next to each other; its rows ended on line {ended[order_id]}",
        )
    return None


class _Batch:
    """Orders waiting to be stored together, and the rows that already failed among them."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ctx: Context,
        headers: list[str],
        summary: OrderImportSummary,
        on_error: Callable[[RowError], None],
    ) -> None:
        self.sessions = sessions
        self.ctx = ctx
        self.headers = headers
        self.summary = summary
        self.on_error = on_error
        self.orders: list[_Order] = []
        self.failed: list[RowError] = []

    def add(self, order: _Order) -> None:
        order.check()
        failures = order.failures(self.headers)
        if failures:
            self.failed.extend(failures)
        else:
            self.orders.append(order)

    def fail(self, error: RowError) -> None:
        self.failed.append(error)

    def full(self) -> bool:
        return len(self.orders) >= BATCH_ORDERS

    def flush(self) -> None:
        if self.orders:
            self._store()
        self.summary.failed += len(self.failed)
        for failure in sorted(self.failed, key=lambda f: f.line):
            self.on_error(failure)
        self.orders, self.failed = [], []

    def _store(self) -> None:
        customers = _identify_messages(self.orders)
        raws = customers + [_order_message(order) for order in self.orders]
        with self.sessions() as session:
            ids = [raw["messageId"] for raw in raws[len(customers) :]]
            # For the summary only; the ingest itself skips what is stored, however it races.
            known = set(
                session.scalars(select(Event.message_id).where(one_of(session, Event.message_id, ids)))
            )
        messages, result = read_messages(self.ctx, raws)
        if messages:
            ingest(self.sessions, self.ctx, None, messages, result)
        # Only an order's own message can be refused (a time in the future); its identify call
        # carries the same time, so each bad order is reported once, by its order message.
        rejected = {
            index - len(customers): error for index, error in result.rejected if index >= len(customers)
        }
        for index, error in rejected.items():
            rows = self.orders[index].rows
            self.failed.extend(RowError(line, [error], cells, self.headers) for line, cells, _ in rows)
        good = [order for index, order in enumerate(self.orders) if index not in rejected]
        self.summary.orders += len(good)
        self.summary.already_imported += sum(1 for order in good if _message_id(order.order_id) in known)
        self.summary.imported += sum(1 for order in good if _message_id(order.order_id) not in known)


def _order_value(name: str, text: str, tz: ZoneInfo) -> Any:
    if name == "email":
        return normalize_email(text)
    if name == "ordered_at":
        return _ordered_at(text, tz)
    if name == "currency":
        return currency_code(text)
    if name in _AMOUNTS:
        return parse_amount(text)
    if len(text) > MAX_ID:
        raise ValueError(f"longer than {MAX_ID} characters")
    return text


def _ordered_at(text: str, tz: ZoneInfo) -> datetime:
    """A time as shops write it: '2026-03-01 14:30', '2026.03.01', ISO 8601; without an offset in `tz`."""
    candidate = _DATE.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", text)
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise ValueError(
            f"expected a time such as '2026-03-01 14:30' or '2026.03.01', got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _item(row: dict[str, str], errors: list[FieldError]) -> dict[str, Any]:
    """A line item; a bad price or quantity goes to `errors`."""
    item: dict[str, Any] = {
        name: row[name] for name in ("product_id", "sku", "name", "category") if name in row
    }
    item["price"] = item["quantity"] = None
    try:
        item["price"] = parse_amount(row["price"]) if "price" in row else None
    except ValueError as exc:
        errors.append(FieldError("price", str(exc)))
    try:
        item["quantity"] = read_quantity(row.get("quantity"))
    except ValueError as exc:
        errors.append(FieldError("quantity", str(exc)))
    return item


def _check_minor(amount: Decimal, currency: str, name: str, errors: list[FieldError]) -> None:
    try:
        to_minor(amount, currency)
    except ValueError as exc:
        errors.append(FieldError(name, str(exc)))


def _order_message(order: _Order) -> dict[str, Any]:
    values = order.values
    properties: dict[str, Any] = {
        "order_id": order.order_id,
        "currency": values.get("currency", DEFAULT_CURRENCY),
    }
    properties |= {name: _number(values[name]) for name in _AMOUNTS if name in values}
    if "coupon" in values:
        properties["coupon"] = values["coupon"]
    properties["products"] = [
        {**item, "price": None if item["price"] is None else _number(item["price"])}
        for _line, item in order.items
    ]
    message = {
        "type": "track",
        "event": ORDER_COMPLETED,
        "messageId": _message_id(order.order_id),
        "timestamp": values["ordered_at"].isoformat(),
        "properties": properties,
    }
    return message | _customer(values)


def _identify_messages(orders: list[_Order]) -> list[dict[str, Any]]:
    """One identify call for each customer known by email, so the ingest finds or creates them."""
    messages: dict[tuple[str | None, str], dict[str, Any]] = {}
    for order in orders:
        email = order.values.get("email")
        if email is None:
            continue
        key = (order.values.get("user_id"), email)
        digest = hashlib.sha256(f"{key[0] or ''}\n{email}".encode()).hexdigest()[:40]
        message = {
            "type": "identify",
            "messageId": f"{MESSAGE_PREFIX}identify-{digest}",
            "timestamp": order.values["ordered_at"].isoformat(),
            "traits": {"email": email},
        }
        messages.setdefault(key, message | _customer(order.values))
    return list(messages.values())


def _customer(values: dict[str, Any]) -> dict[str, str]:
    """The user id when the file has it; else a visitor id made from the email, which identify joins."""
    if "user_id" in values:
        return {"userId": values["user_id"]}
    return {"anonymousId": "email-" + hashlib.sha256(values["email"].encode()).hexdigest()[:40]}


def _message_id(order_id: str) -> str:
    message_id = MESSAGE_PREFIX + order_id
    if len(message_id) <= MAX_ID:
        return message_id
    return MESSAGE_PREFIX + hashlib.sha256(order_id.encode()).hexdigest()


def _number(amount: Decimal) -> int | float:
    """A JSON number, as Segment's libraries send amounts; a float keeps 15 significant digits exactly."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)
