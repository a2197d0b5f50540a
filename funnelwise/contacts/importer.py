"""Importing contacts from CSV files of any size: streamed, in batches, bad rows reported."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from funnelwise.auth.users import user_ids_by_email
from funnelwise.contacts.bulk import DedupeKey, Outcome, UpdatePolicy, upsert_contacts
from funnelwise.contacts.columns import FULL_NAME, ColumnMap, map_columns
from funnelwise.contacts.fields import ContactDraft
from funnelwise.contacts.names import split_full_name
from funnelwise.contacts.service import check_references, make_cleaner
from funnelwise.context import Context
from funnelwise.csvfile import RowError, open_csv
from funnelwise.errors import FieldError, InvalidInput

BATCH_ROWS = 2_000


@dataclass(frozen=True)
class ImportOptions:
    key: DedupeKey = DedupeKey.EMAIL
    policy: UpdatePolicy = UpdatePolicy.OVERWRITE
    mapping: Mapping[str, str] = field(default_factory=dict)
    encoding: str | None = None


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    columns: dict[str, str | None] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


def import_contacts(
    sessions: sessionmaker[Session],
    ctx: Context,
    stream: IO[bytes],
    options: ImportOptions,
    *,
    on_error: Callable[[RowError], None],
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Imports every good row; hands every bad one, with its line number, to `on_error`.

    Each batch commits on its own, so memory stays flat and an interrupted import keeps what
    it stored; running the same file again changes nothing.
    """
    csv_file = open_csv(stream, options.encoding)
    headers = csv_file.headers
    with sessions() as session:
        cleaner = make_cleaner(session, ctx)
        owners = user_ids_by_email(session)
    columns, errors = map_columns(headers, cleaner.coercer.specs, options.mapping)
    if errors:
        raise InvalidInput(errors)
    if options.key not in columns.targets:
        raise InvalidInput.single("key", f"contacts are matched on {options.key}, but no column holds it")
    summary = ImportSummary(
        columns=dict(zip(headers, columns.targets, strict=True)), ignored_columns=columns.ignored
    )
    for batch in _batches(csv_file.rows, columns):
        drafts: list[tuple[int, list[str], ContactDraft]] = []
        failures: list[RowError] = []
        for line, cells, raw in batch:
            draft, row_errors = cleaner.clean(raw, from_text=True)
            _resolve_owner(draft, owners, row_errors)
            if row_errors:
                failures.append(RowError(line, row_errors, cells, headers))
            else:
                drafts.append((line, cells, draft))
        summary.rows += len(batch)
        _store(sessions, ctx, drafts, options, summary, failures, headers)
        for failure in sorted(failures, key=lambda f: f.line):
            on_error(failure)
        summary.failed += len(failures)
        if on_progress:
            on_progress(csv_file.bytes_read())
    return summary


def _store(
    sessions: sessionmaker[Session],
    ctx: Context,
    drafts: list[tuple[int, list[str], ContactDraft]],
    options: ImportOptions,
    summary: ImportSummary,
    failures: list[RowError],
    headers: Sequence[str],
) -> None:
    with sessions() as session, session.begin():
        storable = []
        for line, cells, draft in drafts:
            # Rows naming an owner or company id that does not exist are reported, not stored.
            missing = check_references(session, draft.fields)
            if missing:
                failures.append(RowError(line, missing, cells, headers))
            else:
                storable.append((line, cells, draft))
        results = upsert_contacts(
            session, ctx, [d for _, _, d in storable], options.key, options.policy, source="import"
        )
    for (line, cells, _draft), result in zip(storable, results, strict=True):
        if result.outcome is Outcome.FAILED:
            failures.append(RowError(line, result.errors, cells, headers))
        else:
            setattr(summary, result.outcome.value, getattr(summary, result.outcome.value) + 1)


def _resolve_owner(draft: ContactDraft, owners: Mapping[str, int], errors: list[FieldError]) -> None:
    if draft.owner_email is None:
        return
    owner_id = owners.get(draft.owner_email)
    if owner_id is None:
        errors.append(FieldError("owner", f"no user with email {draft.owner_email!r}"))
    else:
        draft.fields["owner_id"] = owner_id


def _batches(
    rows: Iterator[tuple[int, list[str]]], columns: ColumnMap
) -> Iterator[list[tuple[int, list[str], dict[str, object]]]]:
    batch: list[tuple[int, list[str], dict[str, object]]] = []
    for line, cells in rows:
        raw = columns.row(cells)
        if FULL_NAME in raw:
            _split_name(raw)
        batch.append((line, cells, raw))
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _split_name(raw: dict[str, object]) -> None:
    full = str(raw.pop(FULL_NAME) or "")
    first, last = split_full_name(full)
    if not raw.get("first_name") and first:
        raw["first_name"] = first
    if not raw.get("last_name") and last:
        raw["last_name"] = last
