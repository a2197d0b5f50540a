"""The product catalogue: upserts of many products in one statement, lookups, search and deletion."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Table, delete, func, or_, select
from sqlalchemy.orm import Session

from funnelwise.commerce.models import Product
from funnelwise.commerce.money import DEFAULT_CURRENCY, to_minor
from funnelwise.commerce.schemas import ProductIn, ProductOut
from funnelwise.contacts.bulk import Outcome
from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.schemas import Page
from funnelwise.context import Context
from funnelwise.db.dialect import insert, json_canonical, json_merge, one_of
from funnelwise.errors import FieldError, NotFound

# 12 columns a row: far below SQLite's 32,766 bound parameters a statement.
ROWS_PER_STATEMENT = 1_000
# Optional columns: a value given replaces the stored one; a missing one leaves it alone.
_KEPT_WHEN_MISSING = ("sku", "category", "brand", "price_minor", "url", "image_url")


@dataclass
class ProductResult:
    outcome: Outcome
    product_id: str | None = None
    errors: list[FieldError] = field(default_factory=list)


def upsert_raw(session: Session, ctx: Context, items: Sequence[Any]) -> list[ProductResult]:
    """Checks raw API input item by item, then upserts the good ones; one result per item."""
    results: list[ProductResult | None] = [None] * len(items)
    good: list[tuple[int, ProductIn]] = []
    for index, item in enumerate(items):
        try:
            good.append((index, ProductIn.model_validate(item)))
        except ValidationError as exc:
            results[index] = ProductResult(Outcome.FAILED, errors=field_errors(exc))
    stored = upsert_products(session, ctx, [product for _, product in good])
    for (index, _product), result in zip(good, stored, strict=True):
        results[index] = result
    return [result for result in results if result is not None]


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as field errors: `price: expected an amount …`."""
    errors = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "product"
        message = "unknown field" if error["type"] == "extra_forbidden" else str(error["msg"])
        errors.append(FieldError(name, message))
    return errors


def upsert_products(session: Session, ctx: Context, products: Sequence[ProductIn]) -> list[ProductResult]:
    """Creates or updates each product by its product_id; one result per product, in order."""
    results: list[ProductResult | None] = [None] * len(products)
    for start in range(0, len(products), ROWS_PER_STATEMENT):
        chunk = list(range(start, min(start + ROWS_PER_STATEMENT, len(products))))
        for round_ in _rounds_of_unique_ids(products, chunk):
            _upsert_round(session, ctx, products, round_, results)
    return [result for result in results if result is not None]


def _rounds_of_unique_ids(products: Sequence[ProductIn], indexes: list[int]) -> list[list[int]]:
    """Splits a batch so no statement names one product twice; later rows apply after earlier ones."""
    rounds: list[list[int]] = []
    seen: dict[str, int] = {}
    for index in indexes:
        number = seen[products[index].product_id] = seen.get(products[index].product_id, -1) + 1
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(index)
    # Writers that lock keys in one global order cannot deadlock each other on PostgreSQL.
    return [sorted(round_, key=lambda i: products[i].product_id) for round_ in rounds]


def _upsert_round(
    session: Session,
    ctx: Context,
    products: Sequence[ProductIn],
    indexes: list[int],
    results: list[ProductResult | None],
) -> None:
    ids = [products[i].product_id for i in indexes]
    existing = dict(
        session.execute(
            select(Product.product_id, Product.currency).where(one_of(session, Product.product_id, ids))
        ).all()
    )
    now = ctx.clock.now()
    rows: list[dict[str, Any]] = []
    for index in indexes:
        try:
            rows.append(_row(products[index], existing.get(products[index].product_id), now))
        except ValueError as exc:
            results[index] = ProductResult(
                Outcome.FAILED, products[index].product_id, [FieldError("price", str(exc))]
            )
    written = set(session.scalars(_upsert(session), rows)) if rows else set()
    for index in indexes:
        product_id = products[index].product_id
        if results[index] is not None:
            continue
        if product_id not in written:
            outcome = Outcome.UNCHANGED
        else:
            outcome = Outcome.UPDATED if product_id in existing else Outcome.CREATED
        results[index] = ProductResult(outcome, product_id)


def _row(product: ProductIn, stored_currency: str | None, now: Any) -> dict[str, Any]:
    currency = product.currency or stored_currency or DEFAULT_CURRENCY
    if product.price is None and stored_currency not in (None, currency):
        # The stored price counts in the stored currency; it cannot change alone.
        raise ValueError(
            f"the price is in {stored_currency}; give a price in {currency} to change the currency"
        )
    price_minor = None if product.price is None else to_minor(product.price, currency)
    return {
        "product_id": product.product_id,
        "name": product.name,
        "sku": product.sku,
        "category": product.category,
        "brand": product.brand,
        "price_minor": price_minor,
        "currency": currency,
        "url": product.url,
        "image_url": product.image_url,
        "properties": product.properties,
        "created_at": now,
        "updated_at": now,
    }


def _upsert(session: Session) -> Any:
    """INSERT … ON CONFLICT (product_id) DO UPDATE … WHERE something changed, RETURNING product_id."""
    table: Table = Product.__table__  # type: ignore[assignment]
    statement = insert(session, table)
    given = statement.excluded
    assignments: dict[str, ColumnElement[Any]] = {
        name: func.coalesce(given[name], table.c[name]) for name in _KEPT_WHEN_MISSING
    }
    assignments["name"] = given.name
    assignments["currency"] = given.currency
    assignments["properties"] = json_merge(session, table.c.properties, given.properties)
    changed = or_(
        *(
            table.c[name].is_distinct_from(value)
            for name, value in assignments.items()
            if name != "properties"
        ),
        json_canonical(session, table.c.properties).is_distinct_from(
            json_canonical(session, assignments["properties"])
        ),
    )
    assignments["updated_at"] = given.updated_at
    statement = statement.on_conflict_do_update(
        index_elements=["product_id"], set_=assignments, where=changed
    )
    return statement.returning(table.c.product_id)


def get_product(session: Session, product_id: str) -> ProductOut:
    product = session.scalar(select(Product).where(Product.product_id == product_id))
    if product is None:
        raise NotFound("product", product_id)
    return ProductOut.of(product)


def list_products(
    session: Session,
    *,
    category: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[ProductOut]:
    """Products in the order they were first stored; `q` finds text in the name, any case."""
    query = select(Product).order_by(Product.id).limit(limit + 1)
    if category is not None:
        query = query.where(Product.category == category)
    if q:
        query = query.where(Product.name.icontains(q, autoescape=True))
    if cursor:
        query = query.where(Product.id > decode_cursor(cursor))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(results=[ProductOut.of(row) for row in rows[:limit]], next_cursor=next_cursor)


def delete_product(session: Session, product_id: str) -> None:
    """Removes it from the catalogue; order items keep their own product id, name and price."""
    deleted = session.execute(delete(Product).where(Product.product_id == product_id))
    if deleted.rowcount == 0:
        raise NotFound("product", product_id)
