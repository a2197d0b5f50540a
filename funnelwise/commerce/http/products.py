"""/api/v1/products: the product catalogue."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from funnelwise.api.deps import ContextDep, SessionDep, require
from funnelwise.commerce.products import (
    ProductResult,
    delete_product,
    get_product,
    list_products,
    upsert_products,
    upsert_raw,
)
from funnelwise.commerce.schemas import ProductFields, ProductIn, ProductOut
from funnelwise.contacts.bulk import Outcome, counts_by_outcome
from funnelwise.contacts.http.schemas import MAX_BATCH, FieldErrorOut
from funnelwise.contacts.schemas import Page
from funnelwise.errors import InvalidInput

router = APIRouter(prefix="/products", tags=["commerce"])
Read = Depends(require("tracking:read"))
Write = Depends(require("tracking:write"))


class ProductBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items stay loose here so that one bad product fails alone, reported by its index.
    products: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


class ProductBatchItemOut(BaseModel):
    index: int
    status: Outcome
    product_id: str | None
    errors: list[FieldErrorOut]


class ProductBatchOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    failed: int
    results: list[ProductBatchItemOut]

    @classmethod
    def of(cls, results: list[ProductResult]) -> "ProductBatchOut":
        items = [
            ProductBatchItemOut(
                index=i,
                status=r.outcome,
                product_id=r.product_id,
                errors=[FieldErrorOut(field=e.field, message=e.message) for e in r.errors],
            )
            for i, r in enumerate(results)
        ]
        return cls(**counts_by_outcome(r.outcome for r in results), results=items)


@router.get("", dependencies=[Read])
def search(
    session: SessionDep,
    category: str | None = None,
    q: Annotated[str | None, Query(description="Text in the product's name")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[ProductOut]:
    return list_products(session, category=category, q=q, cursor=cursor, limit=limit)


@router.post("/batch", dependencies=[Write])
def batch_upsert(session: SessionDep, ctx: ContextDep, body: ProductBatchIn) -> ProductBatchOut:
    """Creates or updates up to 1,000 products; a bad item fails alone, named by its index."""
    return ProductBatchOut.of(upsert_raw(session, ctx, body.products))


@router.get("/{product_id}", dependencies=[Read])
def read(session: SessionDep, product_id: str) -> ProductOut:
    return get_product(session, product_id)


@router.put("/{product_id}", dependencies=[Write])
def put(
    session: SessionDep, ctx: ContextDep, product_id: str, body: ProductFields, response: Response
) -> ProductOut:
    """Creates the product (201) or updates it (200); fields left out keep their stored values."""
    product = ProductIn(product_id=product_id, **body.model_dump(exclude_unset=True))
    [result] = upsert_products(session, ctx, [product])
    if result.outcome is Outcome.FAILED:
        raise InvalidInput(result.errors)
    if result.outcome is Outcome.CREATED:
        response.status_code = status.HTTP_201_CREATED
    return get_product(session, product_id)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, product_id: str) -> Response:
    """Removes the product; orders keep their items' own product id, name and price."""
    delete_product(session, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
