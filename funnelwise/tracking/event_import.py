"""Importing events from a JSONL file, one Segment message a line, through the tracking API's own path."""

import codecs
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.csvfile import RowError
from funnelwise.errors import FieldError, NotFound
from funnelwise.tracking.ingest import ingest, read_messages
from funnelwise.tracking.models import Source

BATCH_LINES = 500
REPORT_HEADERS = ("message",)


@dataclass
class EventImportSummary:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    failed: int = 0


def source_id_named(session: Session, name_or_id: str) -> int:
    """The id of the source with this id or name (the newest of that name)."""
    condition = Source.name == name_or_id
    if name_or_id.isdigit():
        condition = or_(condition, Source.id == int(name_or_id))
    found = session.scalar(select(Source.id).where(condition).order_by(Source.id.desc()).limit(1))
    if found is None:
        raise NotFound("source", name_or_id)
    return found


def import_events(
    sessions: sessionmaker[Session],
    ctx: Context,
    stream: IO[bytes],
    *,
    source_id: int | None = None,
    on_error: Callable[[RowError], None],
    on_progress: Callable[[int], None] | None = None,
) -> EventImportSummary:
    """Stores every good line, each batch in its own transaction; bad lines go to `on_error`.

    A line without a messageId gets one made from its bytes, so importing a file again stores
    nothing new.
    """
    summary = EventImportSummary()
    done = 0
    batch: list[tuple[int, str, Any]] = []
    for line, data in enumerate(stream, start=1):
        done += len(data)
        content = (data.removeprefix(codecs.BOM_UTF8) if line == 1 else data).strip()
        if not content:
            continue
        summary.lines += 1
        raw = content.decode("utf-8", errors="replace")
        try:
            batch.append((line, raw, _message(content)))
        except ValueError as exc:
            _fail(summary, on_error, line, raw, FieldError("line", str(exc)))
        if len(batch) >= BATCH_LINES:
            _store(sessions, ctx, source_id, batch, summary, on_error)
            batch = []
            if on_progress:
                on_progress(done)
    if batch:
        _store(sessions, ctx, source_id, batch, summary, on_error)
    if on_progress:
        on_progress(done)
    return summary


def _message(content: bytes) -> Any:
    """The line's JSON; an object without a messageId gets one made from the line's bytes."""
    try:
        message = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    if isinstance(message, dict) and not message.get("messageId"):
        message["messageId"] = "import-" + hashlib.sha256(content).hexdigest()[:40]
    return message


def _store(
    sessions: sessionmaker[Session],
    ctx: Context,
    source_id: int | None,
    batch: list[tuple[int, str, Any]],
    summary: EventImportSummary,
    on_error: Callable[[RowError], None],
) -> None:
    messages, result = read_messages(ctx, [message for _, _, message in batch])
    if messages:
        ingest(sessions, ctx, source_id, messages, result)
    summary.stored += result.accepted
    summary.duplicates += result.duplicates
    for index, error in result.rejected:
        line, raw, _message = batch[index]
        _fail(summary, on_error, line, raw, error)


def _fail(
    summary: EventImportSummary, on_error: Callable[[RowError], None], line: int, raw: str, error: FieldError
) -> None:
    summary.failed += 1
    on_error(RowError(line, [error], [raw], REPORT_HEADERS))
