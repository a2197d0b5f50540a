"""The Segment HTTP Tracking API: /v1/identify, track, page, screen, group, alias and batch.

Authenticated by the source's write key as the HTTP Basic username (or `writeKey` in the body,
as browsers' sendBeacon cannot set headers). Errors carry Segment's `code` and `message` beside
our `detail` and `errors`, so Segment's libraries report them.
"""

import asyncio
import base64
import binascii
import json
import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from funnelwise.context import Context
from funnelwise.db.writes import urgent_writes
from funnelwise.errors import FieldError
from funnelwise.tracking.ingest import IngestResult, read_messages
from funnelwise.tracking.intake import accept
from funnelwise.tracking.messages import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, MessageType, Rejected, parse_time

router = APIRouter(prefix="/v1", tags=["tracking API (Segment spec)"])
# Batches one process works on at once: SQLite has one writer anyway; on PostgreSQL a second batch
# uses the CPU while the first waits for the database.
CONCURRENT_BATCHES = {"sqlite": 1, "postgresql": 2}


class _Refused(Exception):
    def __init__(self, status: int, code: str, field: str, message: str) -> None:
        self.status, self.code, self.field, self.message = status, code, field, message


@router.post("/batch")
@router.post("/import")
async def batch(request: Request) -> JSONResponse:
    """Up to 500 KB of messages of any type; each is answered on its own, by its index."""
    return await _handle(request, None)


def _single(kind: MessageType) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        return await _handle(request, kind)

    endpoint.__name__ = kind.value
    endpoint.__doc__ = f"One {kind.value} call (at most 32 KB)."
    return endpoint


for _kind in MessageType:
    router.add_api_route(f"/{_kind.value}", _single(_kind), methods=["POST"], name=_kind.value)


async def _handle(request: Request, kind: MessageType | None) -> JSONResponse:
    # From the first byte to the answer, background writers to SQLite give this call way.
    with urgent_writes(request.app.state.sessionmaker):
        return await _answer_call(request, kind)


async def _answer_call(request: Request, kind: MessageType | None) -> JSONResponse:
    limit = MAX_MESSAGE_BYTES if kind is not None else MAX_BATCH_BYTES
    try:
        raw = await _read_body(request, limit)
        body = _decode(raw, request.headers.get("content-encoding", ""), limit)
        write_key = _write_key(request, body)
        async with _slots(request):
            result = await run_in_threadpool(_ingest, request, write_key, body, kind)
    except _Refused as refused:
        return _refusal(refused)
    if kind is not None and result.rejected:
        _index, error = result.rejected[0]
        return _refusal(_Refused(400, "invalid_request", error.field, error.message))
    return JSONResponse(_answer(result))


def _slots(request: Request) -> asyncio.Semaphore:
    """The batches this process works on at once; the others wait their turn, first come first served.

    Ingesting is CPU work under one GIL: more threads at once do not finish sooner, they only take
    turns in an unfair order, which made the slowest batch calls many times slower than the median.
    """
    state = request.app.state
    if getattr(state, "tracking_slots", None) is None:
        state.tracking_slots = asyncio.Semaphore(CONCURRENT_BATCHES[state.engine.dialect.name])
    return state.tracking_slots


def _ingest(request: Request, write_key: str, body: dict[str, Any], kind: MessageType | None) -> IngestResult:
    sessions = request.app.state.sessionmaker
    ctx: Context = request.app.state.context
    raws, sent_at, shared_context = _messages(body, kind, ctx)
    extra = {"ip": request.client.host if request.client else None}
    extra["userAgent"] = request.headers.get("user-agent")
    for raw in raws:
        if isinstance(raw, dict) and shared_context and isinstance(raw.get("context") or {}, dict):
            raw["context"] = {**shared_context, **(raw.get("context") or {})}
    messages, result = read_messages(ctx, raws, forced_type=kind, batch_sent_at=sent_at, extra_context=extra)
    if accept(sessions, write_key, messages, result) is None:
        raise _Refused(401, "unauthorized", "writeKey", "unknown or revoked write key")
    return result


def _messages(body: dict[str, Any], kind: MessageType | None, ctx: Context) -> tuple[list[Any], Any, dict]:
    if kind is not None:
        return [body], None, {}
    raws = body.get("batch")
    if not isinstance(raws, list):
        raise _Refused(400, "invalid_request", "batch", "expected a list of messages under 'batch'")
    sent_at = None
    if body.get("sentAt"):
        try:
            sent_at = parse_time(body["sentAt"], "sentAt", ctx.settings.tz)
        except Rejected as exc:
            raise _Refused(400, "invalid_request", "sentAt", exc.error.message) from None
    shared = body.get("context") if isinstance(body.get("context"), dict) else {}
    return raws, sent_at, shared


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is larger than `limit`: never read whole into memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, encoding: str, limit: int) -> dict[str, Any]:
    if "gzip" in encoding.lower():
        raw = _gunzip(raw, limit)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: malformed, or an int of 4,300+ digits
        raise _Refused(400, "invalid_request", "body", f"malformed JSON: {exc}") from None
    except RecursionError:
        raise _Refused(400, "invalid_request", "body", "JSON nested too deeply") from None
    if not isinstance(body, dict):
        raise _Refused(400, "invalid_request", "body", "expected a JSON object")
    return body


def _gunzip(raw: bytes, limit: int) -> bytes:
    """The inflated body, stopped at `limit` so a small bomb cannot fill the memory."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(raw, limit + 1)
    except zlib.error:
        inflated, inflater = b"", None
    if len(inflated) > limit:
        raise _too_large(limit)
    if inflater is None or not inflater.eof:
        raise _Refused(400, "invalid_request", "body", "Content-Encoding says gzip, but it is not")
    return inflated


def _too_large(limit: int) -> _Refused:
    return _Refused(413, "payload_too_large", "body", f"larger than {limit // 1024} KB")


def _write_key(request: Request, body: dict[str, Any]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            username = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise _Refused(401, "unauthorized", "writeKey", "malformed Basic credentials") from None
        if username:
            return username
    key = body.get("writeKey")
    if isinstance(key, str) and key:
        return key
    raise _Refused(401, "unauthorized", "writeKey", "send the source's write key as the Basic username")


def _answer(result: IngestResult) -> dict[str, Any]:
    answer: dict[str, Any] = {"success": not result.rejected}
    if result.rejected or result.duplicates:
        answer |= {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": [_indexed(i, e) for i, e in result.rejected],
        }
    return answer


def _indexed(index: int, error: FieldError) -> dict[str, Any]:
    return {"index": index, "field": error.field, "message": error.message}


def _refusal(refused: _Refused) -> JSONResponse:
    body = {
        "success": False,
        "code": refused.code,
        "message": f"{refused.field}: {refused.message}",
        "detail": f"{refused.field}: {refused.message}",
        "errors": [{"field": refused.field, "message": refused.message}],
    }
    headers = {"WWW-Authenticate": 'Basic realm="write key"'} if refused.status == 401 else None
    return JSONResponse(body, status_code=refused.status, headers=headers)
