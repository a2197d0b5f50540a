"""Every error leaves as JSON naming the field at fault: `{"detail": …, "errors": [{field, message}]}`."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from funnelwise.errors import Conflict, DomainError, InvalidInput, NotFound


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)


def error_body(detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or []}


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(e), "message": _message(e)} for e in exc.errors()]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(error_body(summary, errors), status_code=422)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, InvalidInput):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return JSONResponse(error_body(str(exc), errors), status_code=422)
    if isinstance(exc, Conflict):
        # The message beside its field, as for 422s; the detail keeps the "field: " prefix.
        message = str(exc).removeprefix(f"{exc.field}: ")
        error = {"field": exc.field, "message": message, "existing_id": exc.existing_id}
        return JSONResponse(error_body(str(exc), [error]), status_code=409)
    status = 404 if isinstance(exc, NotFound) else 400
    return JSONResponse(error_body(str(exc)), status_code=status)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


def _field(error: dict[str, Any]) -> str:
    # A body that does not parse has no field at fault: its location ends in a character offset.
    if error["type"] == "json_invalid":
        return "body"
    parts = list(error["loc"])
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "json_invalid":
        return f"malformed JSON: {error.get('ctx', {}).get('error', 'could not parse the body')}"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return str(error["msg"])
