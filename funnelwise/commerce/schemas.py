"""The shapes products take at the edges (API, CLI): prices as decimal text beside their currency."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from funnelwise.commerce.models import Product
from funnelwise.commerce.money import currency_code, minor_to_text, parse_amount

MAX_ID = 255
T = TypeVar("T")


class ProductFields(BaseModel):
    """A product's values as PUT sends them; fields left out keep their stored values."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=512)
    sku: str | None = Field(default=None, max_length=MAX_ID)
    category: str | None = Field(default=None, max_length=255)
    brand: str | None = Field(default=None, max_length=255)
    price: Decimal | None = Field(default=None, description="A decimal number or text: 19.99, '39,000원'")
    currency: str | None = Field(default=None, description="ISO 4217; KRW for a new product without one")
    url: str | None = Field(default=None, max_length=2048)
    image_url: str | None = Field(default=None, max_length=2048)
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name", "sku", "category", "brand", "url", "image_url", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any) -> Decimal | None:
        return None if value is None or value == "" else _checked(parse_amount, value)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str | None:
        return None if value is None or value == "" else _checked(currency_code, value)


def _checked(read: Callable[[Any], T], value: Any) -> T:
    """`read(value)`, its ValueError as a validation error whose message is the error's own."""
    try:
        return read(value)
    except ValueError as exc:
        raise PydanticCustomError("invalid_value", str(exc)) from None


class ProductIn(ProductFields):
    """A product with its id, as the batch endpoint and the CSV import give it."""

    product_id: str = Field(min_length=1, max_length=MAX_ID)

    @field_validator("product_id", mode="before")
    @classmethod
    def _strip_id(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return value.strip() if isinstance(value, str) else value


class ProductOut(BaseModel):
    product_id: str
    name: str
    sku: str | None
    category: str | None
    brand: str | None
    price: str | None
    currency: str
    url: str | None
    image_url: str | None
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> "ProductOut":
        price = None if product.price_minor is None else minor_to_text(product.price_minor, product.currency)
        return cls(
            product_id=product.product_id,
            name=product.name,
            sku=product.sku,
            category=product.category,
            brand=product.brand,
            price=price,
            currency=product.currency,
            url=product.url,
            image_url=product.image_url,
            properties=product.properties,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )
