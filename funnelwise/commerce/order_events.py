"""Reading the properties of Segment e-commerce events (spec v2) into orders and refunds."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from funnelwise.commerce.money import MAX_MINOR, currency_code, parse_amount, to_minor
from funnelwise.errors import FieldError

ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
ORDER_CANCELLED = "Order Cancelled"

MAX_ID = 255
MAX_NAME = 512
MAX_QUANTITY = 2**31 - 1
_ORDER_KEYS = {
    "order_id", "orderId", "currency", "revenue", "total", "discount", "shipping", "tax", "coupon", "products",
}  # fmt: skip
_ITEM_KEYS = {"product_id", "productId", "id", "sku", "name", "category", "price", "quantity"}


class BadOrder(Exception):
    """An e-commerce event whose order cannot be read; the error names the property."""

    def __init__(self, field_name: str, message: str) -> None:
        self.error = FieldError(field_name, message)
        super().__init__(f"{field_name}: {message}")


@dataclass
class OrderDraft:
    """An order as an Order Completed event describes it, its money in minor units."""

    order_id: str
    currency: str
    revenue_minor: int
    total_minor: int | None
    discount_minor: int | None
    shipping_minor: int | None
    tax_minor: int | None
    coupon: str | None
    properties: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)


def order_id_of(properties: Mapping[str, Any]) -> str:
    """The order the event is about: `order_id` (spec v2), or `orderId` as older libraries send it."""
    value = _given(properties, "order_id")
    name = "properties.order_id"
    if value is None and _given(properties, "orderId") is not None:
        value, name = properties["orderId"], "properties.orderId"
    if value is None:
        raise BadOrder("properties.order_id", "an order event needs the order's order_id")
    return _identifier(value, name)


def read_completed(properties: Mapping[str, Any]) -> OrderDraft:
    """The order an Order Completed event describes, or BadOrder saying what is wrong."""
    order_id = order_id_of(properties)
    currency = _currency(properties)
    items = _items(properties.get("products"), currency)
    amounts = {name: _minor(properties, name, currency) for name in ("revenue", "total", "discount")}
    amounts |= {name: _minor(properties, name, currency) for name in ("shipping", "tax")}
    # Revenue is required by the table; a shop that sends only a total, or only its products,
    # still gets an order worth what it says.
    revenue = amounts["revenue"]
    if revenue is None:
        revenue = amounts["total"] if amounts["total"] is not None else _items_sum(items)
    coupon = _given(properties, "coupon")
    return OrderDraft(
        order_id=order_id,
        currency=currency,
        revenue_minor=revenue,
        total_minor=amounts["total"],
        discount_minor=amounts["discount"],
        shipping_minor=amounts["shipping"],
        tax_minor=amounts["tax"],
        coupon=_identifier(coupon, "properties.coupon") if coupon is not None else None,
        properties={k: v for k, v in properties.items() if k not in _ORDER_KEYS},
        items=items,
    )


def refund_amount(properties: Mapping[str, Any], currency: str) -> int | None:
    """What an Order Refunded event gives back: its total, revenue or products; None for all of it."""
    given = _currency(properties) if _given(properties, "currency") is not None else currency
    if given != currency:
        raise BadOrder("properties.currency", f"the order was paid in {currency}, the refund says {given}")
    for name in ("total", "revenue"):
        amount = _minor(properties, name, currency)
        if amount is not None:
            return amount
    if properties.get("products"):
        return _items_sum(_items(properties["products"], currency))
    return None


def _currency(properties: Mapping[str, Any]) -> str:
    try:
        return currency_code(_given(properties, "currency"))
    except ValueError as exc:
        raise BadOrder("properties.currency", str(exc)) from None


def _minor(properties: Mapping[str, Any], name: str, currency: str) -> int | None:
    value = _given(properties, name)
    if value is None:
        return None
    return _amount(value, f"properties.{name}", currency)


def _amount(value: Any, field_name: str, currency: str) -> int:
    try:
        return to_minor(parse_amount(value), currency)
    except ValueError as exc:
        raise BadOrder(field_name, str(exc)) from None


def _items(products: Any, currency: str) -> list[dict[str, Any]]:
    if products is None:
        return []
    if not isinstance(products, list):
        raise BadOrder("properties.products", f"expected a list of products, got {type(products).__name__}")
    return [_item(product, f"properties.products[{i}]", currency) for i, product in enumerate(products)]


def _item(product: Any, path: str, currency: str) -> dict[str, Any]:
    if not isinstance(product, dict):
        raise BadOrder(path, "expected an object with product_id, name, price, quantity, …")
    product_id = next((product[k] for k in ("product_id", "productId", "id") if _given(product, k)), None)
    price = _given(product, "price")
    sku = _given(product, "sku")
    return {
        "product_id": _identifier(product_id, f"{path}.product_id") if product_id is not None else None,
        "sku": _identifier(sku, f"{path}.sku") if sku is not None else None,
        "name": _text(product.get("name"), MAX_NAME),
        "category": _text(product.get("category"), MAX_ID),
        "price_minor": _amount(price, f"{path}.price", currency) if price is not None else None,
        "quantity": _quantity(product.get("quantity"), f"{path}.quantity"),
        "properties": {k: v for k, v in product.items() if k not in _ITEM_KEYS},
    }


def read_quantity(value: Any) -> int:
    """How many of an item: a whole number from 1, 1 when not given; ValueError otherwise."""
    if value is None or value == "":
        return 1
    try:
        number = None if isinstance(value, bool) else Decimal(str(value).strip())
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"expected a whole number of items, got {value!r}")
    if not 1 <= number <= MAX_QUANTITY:
        raise ValueError(f"expected 1 to {MAX_QUANTITY} items, got {value!r}")
    return int(number)


def _quantity(value: Any, field_name: str) -> int:
    try:
        return read_quantity(value)
    except ValueError as exc:
        raise BadOrder(field_name, str(exc)) from None


def _items_sum(items: list[dict[str, Any]]) -> int:
    total = sum(item["price_minor"] * item["quantity"] for item in items if item["price_minor"] is not None)
    if total > MAX_MINOR:
        raise BadOrder("properties.products", "the products' prices add up to more than an order can hold")
    return total


def _given(mapping: Mapping[str, Any], key: str) -> Any:
    """The value under `key`; null and empty text count as not given."""
    value = mapping.get(key)
    return None if value is None or value == "" else value


def _identifier(value: Any, field_name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadOrder(field_name, f"expected a string, got {type(value).__name__}")
    text = str(value).strip()
    if not text or len(text) > MAX_ID:
        raise BadOrder(field_name, f"expected 1 to {MAX_ID} characters, got {len(text)}")
    return text


def _text(value: Any, limit: int) -> str | None:
    """Descriptive text (a product's name or category): cut to fit rather than lose the item."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text[:limit] or None
