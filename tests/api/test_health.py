"""The service answers on /healthz and serves its OpenAPI schema."""

import httpx


def test_healthz_names_the_database(live_server: str, engine) -> None:
    response = httpx.get(f"{live_server}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": engine.dialect.name}


def test_openapi_schema_lists_the_contact_routes(live_server: str) -> None:
    schema = httpx.get(f"{live_server}/openapi.json").json()

    assert "/api/v1/contacts" in schema["paths"]
    assert "/api/v1/companies/{company_id}" in schema["paths"]
    assert "/api/v1/properties/{object_type}" in schema["paths"]
