"""Products and orders. Money is kept in the currency's minor unit (won for KRW, cents for USD)."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    product_id: Mapped[str] = mapped_column(String(255), unique=True)
    sku: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str] = mapped_column(String(512))
    category: Mapped[str | None] = mapped_column(String(255), nullable=True)
    brand: Mapped[str | None] = mapped_column(String(255), nullable=True)
    price_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    image_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_contact_id_ordered_at", "contact_id", "ordered_at"),
        Index("ix_orders_anonymous_id", "anonymous_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(255), unique=True)
    contact_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True
    )
    anonymous_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    revenue_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    discount_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    shipping_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tax_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    coupon: Mapped[str | None] = mapped_column(String(255), nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    sku: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str | None] = mapped_column(String(512), nullable=True)
    category: Mapped[str | None] = mapped_column(String(255), nullable=True)
    price_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    quantity: Mapped[int] = mapped_column(Integer)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
