"""Importing the product catalogue from a CSV file, in batches, bad rows reported by line."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.commerce.csv_rows import match_columns
from funnelwise.commerce.products import field_errors, upsert_products
from funnelwise.commerce.schemas import ProductIn
from funnelwise.contacts.bulk import Outcome
from funnelwise.context import Context
from funnelwise.csvfile import RowError, open_csv

BATCH_ROWS = 1_000
COLUMNS = {
    "product_id": ("productid", "id", "상품id", "상품코드", "상품번호", "품번"),
    "sku": ("sku", "skucode"),
    "name": ("name", "productname", "title", "상품명", "제품명"),
    "category": ("category", "카테고리", "분류", "상품분류"),
    "brand": ("brand", "브랜드", "제조사"),
    "price": ("price", "saleprice", "unitprice", "가격", "판매가", "판매가격"),
    "currency": ("currency", "통화"),
    "url": ("url", "link", "producturl", "상품url", "링크", "상품링크"),
    "image_url": ("image", "imageurl", "imagelink", "이미지", "이미지url", "대표이미지"),
}


@dataclass
class ProductImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    ignored_columns: list[str] = field(default_factory=list)


def import_products(
    sessions: sessionmaker[Session],
    ctx: Context,
    stream: IO[bytes],
    *,
    encoding: str | None = None,
    on_error: Callable[[RowError], None],
    on_progress: Callable[[int], None] | None = None,
) -> ProductImportSummary:
    """Upserts every good row by its product id, each batch in its own transaction; bad rows go to `on_error`."""
    source = open_csv(stream, encoding)
    columns = match_columns(source.headers, COLUMNS, required=("product_id", "name"))
    summary = ProductImportSummary(ignored_columns=columns.ignored)
    batch: list[tuple[int, list[str]]] = []
    for line, cells in source.rows:
        batch.append((line, cells))
        if len(batch) >= BATCH_ROWS:
            _store(sessions, ctx, batch, columns.row, source.headers, summary, on_error)
            batch = []
            if on_progress:
                on_progress(source.bytes_read())
    if batch:
        _store(sessions, ctx, batch, columns.row, source.headers, summary, on_error)
    if on_progress:
        on_progress(source.bytes_read())
    return summary


def _store(
    sessions: sessionmaker[Session],
    ctx: Context,
    batch: list[tuple[int, list[str]]],
    row_of: Callable[[list[str]], dict[str, str]],
    headers: list[str],
    summary: ProductImportSummary,
    on_error: Callable[[RowError], None],
) -> None:
    good: list[tuple[int, list[str], ProductIn]] = []
    failures: list[RowError] = []
    for line, cells in batch:
        try:
            good.append((line, cells, ProductIn.model_validate(row_of(cells))))
        except ValidationError as exc:
            failures.append(RowError(line, field_errors(exc), cells, headers))
    with sessions.begin() as session:
        results = upsert_products(session, ctx, [product for _, _, product in good])
    for (line, cells, _product), result in zip(good, results, strict=True):
        if result.outcome is Outcome.FAILED:
            failures.append(RowError(line, result.errors, cells, headers))
        else:
            setattr(summary, result.outcome.value, getattr(summary, result.outcome.value) + 1)
    summary.rows += len(batch)
    summary.failed += len(failures)
    for failure in sorted(failures, key=lambda f: f.line):
        on_error(failure)
