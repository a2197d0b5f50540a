"""A shop keeps its product catalogue in Funnelwise over the REST API."""

from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.commerce.models import Product

TUMBLER = {
    "name": "텀블러",
    "category": "주방",
    "brand": "Acme",
    "price": "39,000원",
    "url": "https://shop.example/p/1",
}


def test_putting_a_product_creates_it_and_putting_it_again_updates_it(
    api: httpx.Client, clock: SimulatedClock
) -> None:
    created = api.put("/api/v1/products/P-1", json=TUMBLER)

    assert created.status_code == 201, created.text
    assert created.json() == {
        "product_id": "P-1",
        "name": "텀블러",
        "sku": None,
        "category": "주방",
        "brand": "Acme",
        "price": "39000",
        "currency": "KRW",
        "url": "https://shop.example/p/1",
        "image_url": None,
        "properties": {},
        "created_at": "2026-11-22T01:00:00Z",
        "updated_at": "2026-11-22T01:00:00Z",
    }

    clock.advance(timedelta(minutes=5))
    updated = api.put("/api/v1/products/P-1", json={"name": "텀블러 500ml", "price": 35000})

    assert updated.status_code == 200
    body = updated.json()
    assert (body["name"], body["price"], body["brand"]) == ("텀블러 500ml", "35000", "Acme")
    assert body["updated_at"] == "2026-11-22T01:05:00Z"
    assert api.get("/api/v1/products/P-1").json() == body


def test_a_dollar_price_is_stored_in_cents_and_answered_as_decimal_text(
    api: httpx.Client, sessions: sessionmaker[Session]
) -> None:
    response = api.put("/api/v1/products/US-1", json={"name": "Mug", "price": 19.99, "currency": "usd"})

    assert (response.json()["price"], response.json()["currency"]) == ("19.99", "USD")
    with sessions() as session:
        assert session.scalar(select(Product.price_minor)) == 1999


def test_a_bad_product_is_refused_naming_the_field(api: httpx.Client) -> None:
    response = api.put("/api/v1/products/P-1", json={"name": "Mug", "price": -5, "currency": "WON"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "price", "message": "expected an amount of zero or more, got -5"},
        {
            "field": "currency",
            "message": "unknown currency 'WON'; expected an ISO 4217 code such as 'KRW' or 'USD'",
        },
    ]


def test_the_currency_cannot_change_without_a_price(api: httpx.Client) -> None:
    api.put("/api/v1/products/P-1", json={"name": "Mug", "price": 19.99, "currency": "USD"})

    response = api.put("/api/v1/products/P-1", json={"name": "Mug", "currency": "KRW"})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "price", "message": "the price is in USD; give a price in KRW to change the currency"}
    ]


def test_a_batch_stores_the_good_products_and_names_the_bad_one_by_index(api: httpx.Client) -> None:
    api.put("/api/v1/products/P-1", json=TUMBLER)

    response = api.post(
        "/api/v1/products/batch",
        json={
            "products": [
                {"product_id": "P-1", **TUMBLER},
                {"product_id": "P-2", "name": "머그", "price": 12000},
                {"product_id": "P-3", "price": "공짜"},
                {"product_id": "P-2", "name": "머그컵"},
            ]
        },
    )

    assert response.status_code == 200
    assert response.json() == {
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "failed": 1,
        "results": [
            {"index": 0, "status": "unchanged", "product_id": "P-1", "errors": []},
            {"index": 1, "status": "created", "product_id": "P-2", "errors": []},
            {
                "index": 2,
                "status": "failed",
                "product_id": None,
                "errors": [
                    {"field": "name", "message": "Field required"},
                    {"field": "price", "message": "expected an amount such as 39000 or '19.99', got '공짜'"},
                ],
            },
            {"index": 3, "status": "updated", "product_id": "P-2", "errors": []},
        ],
    }
    assert api.get("/api/v1/products/P-2").json()["name"] == "머그컵"


def test_products_are_listed_page_by_page_and_found_by_category_or_name(api: httpx.Client) -> None:
    for number, (name, category) in enumerate([("Tumbler", "kitchen"), ("Mug", "kitchen"), ("Cap", "wear")]):
        api.put(f"/api/v1/products/P-{number}", json={"name": name, "category": category})

    first = api.get("/api/v1/products", params={"limit": 2}).json()
    second = api.get("/api/v1/products", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    kitchen = api.get("/api/v1/products", params={"category": "kitchen"}).json()
    mugs = api.get("/api/v1/products", params={"q": "MUG"}).json()

    assert [p["product_id"] for p in first["results"]] == ["P-0", "P-1"]
    assert ([p["product_id"] for p in second["results"]], second["next_cursor"]) == (["P-2"], None)
    assert [p["name"] for p in kitchen["results"]] == ["Tumbler", "Mug"]
    assert [p["name"] for p in mugs["results"]] == ["Mug"]


def test_a_deleted_product_is_gone(api: httpx.Client) -> None:
    api.put("/api/v1/products/P-1", json=TUMBLER)

    assert api.delete("/api/v1/products/P-1").status_code == 204
    assert api.get("/api/v1/products/P-1").status_code == 404
    assert api.delete("/api/v1/products/P-1").json()["detail"] == "product 'P-1' not found"


def test_reading_needs_tracking_read_and_writing_tracking_write(
    client_with: Callable[..., httpx.Client],
) -> None:
    reader = client_with("tracking:read")

    assert reader.get("/api/v1/products").status_code == 200
    refused = reader.put("/api/v1/products/P-1", json=TUMBLER)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "this API key lacks the scope 'tracking:write'",
    )
