"""Helpers for the API tests: the error shape every non-2xx response must have."""

from typing import Any

import httpx


def assert_error(response: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """Checks the status and the JSON error body naming exactly `fields`; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert [error["field"] for error in body["errors"]] == list(fields)
    return body


def message_of(body: dict[str, Any], field: str) -> str:
    """The message of the error naming `field`."""
    (message,) = [error["message"] for error in body["errors"] if error["field"] == field]
    return message
