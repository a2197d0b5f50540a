"""Upserting many contacts at once, inside the database: the path of imports and bulk API calls."""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Table, func, literal_column, null, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from funnelwise.contacts.companies import company_ids_by_domain
from funnelwise.contacts.fields import CONTACT_FIELDS, ContactDraft
from funnelwise.contacts.identity import KEY_FIELDS, find_by_key, find_many_by_identity
from funnelwise.contacts.models import Contact
from funnelwise.contacts.normalize import email_domain, is_free_mail
from funnelwise.contacts.service import check_references, make_cleaner, resolve_company_names
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, json_canonical, json_merge, one_of
from funnelwise.db.staging import staged
from funnelwise.errors import FieldError
from funnelwise.reactions.queue import mark_due
from funnelwise.sales.lifecycle import record_set_stages

# Enough rows per statement to amortise the round trip, few enough to stay under SQLite's
# 32,766 bound parameters (15 columns a row).
ROWS_PER_STATEMENT = 1_000
# From this many rows on, PostgreSQL gets them by COPY into a staging table (see db/staging.py).
STAGE_MIN_ROWS = 50


class DedupeKey(StrEnum):
    EMAIL = "email"
    USER_ID = "user_id"
    PHONE = "phone"


class UpdatePolicy(StrEnum):
    """What an upsert does to a contact that exists already."""

    OVERWRITE = "overwrite"  # values given replace stored ones; blanks leave them alone
    FILL_EMPTY = "fill_empty"  # values given fill only fields that are empty
    SKIP = "skip"  # existing contacts are left as they are


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


def counts_by_outcome(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """How many of each outcome, keyed by its name: the totals a batch answer opens with."""
    counted = Counter(outcomes)
    return {outcome.value: counted[outcome] for outcome in Outcome}


# What the upsert returns of a row it wrote: its id, whether it was inserted (None: not known,
# see `_inserted`) and its lifecycle stage after the write.
Written = tuple[int, bool | None, str | None]


@dataclass
class RowResult:
    outcome: Outcome
    contact_id: int | None = None
    errors: list[FieldError] = field(default_factory=list)


def upsert_contacts(
    session: Session,
    ctx: Context,
    drafts: Sequence[ContactDraft],
    key: DedupeKey,
    policy: UpdatePolicy,
    *,
    source: str = "api",
) -> list[RowResult]:
    """Creates or updates each draft, matched on `key`; one result per draft, in order.

    Every stage the writes change is recorded in the stage history with `source` (`api` or
    `import`), as a deliberate move in either direction (see `sales.lifecycle.record_set_stages`).
    """
    results: list[RowResult | None] = [None] * len(drafts)
    moves: list[tuple[int, str | None, str | None]] = []
    pending: list[int] = []
    for index, draft in enumerate(drafts):
        if not draft.fields.get(key):
            results[index] = _failed(key, f"no {key} to match on (contacts are matched on {key})")
        else:
            pending.append(index)
    for start in range(0, len(pending), ROWS_PER_STATEMENT):
        chunk = pending[start : start + ROWS_PER_STATEMENT]
        # Before the split into rounds, so a kept key and a key merged into it are never one statement.
        _resolve_merged_keys(session, [drafts[i] for i in chunk], key)
        for round_ in _rounds_of_unique_keys(drafts, chunk, key):
            moves += _upsert_round(session, ctx, drafts, round_, key, policy, results)
    record_set_stages(session, ctx, moves, source)
    done = [result for result in results if result is not None]
    mark_due(session, ctx, [r.contact_id for r in done if r.outcome in (Outcome.CREATED, Outcome.UPDATED)])
    return done


def _resolve_merged_keys(session: Session, batch: list[ContactDraft], key: DedupeKey) -> None:
    """Replaces each key merged into another contact by that contact's own key."""
    merged_away = find_many_by_identity(session, key, [draft.fields[key] for draft in batch])
    for draft in batch:
        if draft.fields[key] in merged_away:
            draft.fields[key] = _key_of(session, merged_away[draft.fields[key]], key)


def _rounds_of_unique_keys(drafts: Sequence[ContactDraft], indexes: list[int], key: str) -> list[list[int]]:
    """Splits a batch so no statement names one key twice; later rows apply after earlier ones."""
    rounds: list[list[int]] = []
    seen_in: dict[str, int] = {}
    for index in indexes:
        value = drafts[index].fields[key]
        number = seen_in.get(value, -1) + 1
        seen_in[value] = number
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(index)
    # Writers that lock keys in one global order cannot deadlock each other on PostgreSQL.
    return [sorted(round_, key=lambda i: drafts[i].fields[key]) for round_ in rounds]


def _upsert_round(
    session: Session,
    ctx: Context,
    drafts: Sequence[ContactDraft],
    indexes: list[int],
    key: DedupeKey,
    policy: UpdatePolicy,
    results: list[RowResult | None],
) -> list[tuple[int, str | None, str | None]]:
    """Writes one round; returns (contact id, stage before, stage after) of the contacts it wrote."""
    batch = [drafts[i] for i in indexes]
    _link_companies(session, ctx, batch)
    column = getattr(Contact, key)
    keys = [draft.fields[key] for draft in batch]
    known = select(column, Contact.id, Contact.lifecycle_stage).where(one_of(session, column, keys))
    if any(draft.fields.get("lifecycle_stage") for draft in batch):
        # The stages read here are the ones the history says the contacts left: held until commit.
        known = known.order_by(column).with_for_update()
    stages_before: dict[Any, str | None] = {}
    existing: dict[Any, int] = {}
    for value, contact_id, stage in session.execute(known):
        existing[value] = contact_id
        stages_before[value] = stage
    now = ctx.clock.now()
    rows = [_row(draft, now) for draft in batch]
    try:
        with session.begin_nested():
            written = _execute(session, rows, key, policy)
    except IntegrityError:
        written = _execute_one_by_one(session, indexes, rows, key, policy, results)
    # Rows a concurrent writer stored after `existing` was read, which this one left unchanged.
    unseen = [value for value in keys if value not in existing and value not in written]
    if unseen:
        existing |= dict(
            session.execute(select(column, Contact.id).where(one_of(session, column, unseen))).all()
        )
    moves: list[tuple[int, str | None, str | None]] = []
    for index, row in zip(indexes, rows, strict=True):
        if results[index] is not None:
            continue
        value = row[key]
        if value not in written:
            results[index] = RowResult(Outcome.UNCHANGED, existing.get(value))
            continue
        contact_id, inserted, stage = written[value]
        created = value not in existing if inserted is None else inserted
        results[index] = RowResult(Outcome.CREATED if created else Outcome.UPDATED, contact_id)
        moves.append((contact_id, None if created else stages_before.get(value), stage))
    return moves


def _link_companies(session: Session, ctx: Context, batch: list[ContactDraft]) -> None:
    resolve_company_names(session, ctx, batch)
    if not ctx.settings.auto_create_companies:
        return
    domains = {
        domain: domain
        for draft in batch
        if draft.fields.get("company_id") is None
        and draft.fields.get("email")
        and not is_free_mail(domain := email_domain(draft.fields["email"]))
    }
    company_ids = company_ids_by_domain(session, ctx, domains)
    for draft in batch:
        if draft.fields.get("company_id") is None and draft.fields.get("email"):
            draft.fields["company_id"] = company_ids.get(email_domain(draft.fields["email"]))


def _key_of(session: Session, contact_id: int, key: str) -> Any:
    return session.scalar(select(getattr(Contact, key)).where(Contact.id == contact_id))


def _row(draft: ContactDraft, now: Any) -> dict[str, Any]:
    row = {name: draft.fields.get(name) for name in CONTACT_FIELDS}
    row["properties"] = {k: v for k, v in draft.properties.items() if v is not None}
    row["created_at"] = now
    row["updated_at"] = now
    return row


def _execute(
    session: Session, rows: list[dict[str, Any]], key: DedupeKey, policy: UpdatePolicy
) -> dict[Any, Written]:
    """Runs one INSERT … ON CONFLICT for the rows; returns key -> (id, inserted, stage) of rows it wrote."""
    table: Table = Contact.__table__  # type: ignore[assignment]
    if dialect_name(session) == "postgresql" and len(rows) >= STAGE_MIN_ROWS:
        with staged(session, table, rows) as stage:
            source = select(*stage.c).order_by(stage.c[key])
            statement = _upsert(session, table, key, policy).from_select(list(stage.c.keys()), source)
            return {value: (id_, new, stage) for value, id_, new, stage in session.execute(statement)}
    # Parameters go beside the statement, not into it: compiled once and cached, then sent in
    # multi-row batches by SQLAlchemy's "insertmanyvalues".
    written = session.execute(_upsert(session, table, key, policy), rows)
    return {value: (id_, new, stage) for value, id_, new, stage in written}


def _upsert(session: Session, table: Table, key: DedupeKey, policy: UpdatePolicy) -> Any:
    """INSERT … ON CONFLICT (key) per the policy, RETURNING key, id, whether inserted and stage, of the rows it wrote."""
    statement = insert(session, table)
    if policy is UpdatePolicy.SKIP:
        statement = statement.on_conflict_do_nothing(index_elements=[key])
    else:
        assignments = _assignments(session, table, statement.excluded, key, policy)
        changed = or_(
            *(
                _differs(session, table.c[name], expression, name)
                for name, expression in assignments.items()
                if name != "updated_at"
            )
        )
        statement = statement.on_conflict_do_update(index_elements=[key], set_=assignments, where=changed)
    return statement.returning(table.c[key], table.c.id, _inserted(session, table), table.c.lifecycle_stage)


def _inserted(session: Session, table: Table) -> ColumnElement[Any]:
    """Whether a returned row was inserted rather than updated: known on PostgreSQL, else NULL.

    A concurrent writer may insert a key between reading which keys exist and upserting them; on
    PostgreSQL an inserted row version has no locker (xmax 0), an updated one does. SQLite runs
    one writer at a time, so there the keys read beforehand tell.
    """
    if dialect_name(session) == "postgresql":
        return literal_column(f"{table.name}.xmax = 0", Boolean)
    return null()


def _assignments(
    session: Session, table: Table, excluded: Any, key: str, policy: UpdatePolicy
) -> dict[str, ColumnElement[Any]]:
    assignments: dict[str, ColumnElement[Any]] = {}
    for name in CONTACT_FIELDS:
        if name == key:
            continue
        current, given = table.c[name], excluded[name]
        first, second = (given, current) if policy is UpdatePolicy.OVERWRITE else (current, given)
        assignments[name] = func.coalesce(first, second)
    current_props, given_props = table.c.properties, excluded.properties
    if policy is UpdatePolicy.OVERWRITE:
        assignments["properties"] = json_merge(session, current_props, given_props)
    else:
        assignments["properties"] = json_merge(session, given_props, current_props)
    assignments["updated_at"] = excluded.updated_at
    return assignments


def _differs(session: Session, column: Any, expression: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    if name == "properties":
        return json_canonical(session, column).is_distinct_from(json_canonical(session, expression))
    return column.is_distinct_from(expression)


def _execute_one_by_one(
    session: Session,
    indexes: list[int],
    rows: list[dict[str, Any]],
    key: DedupeKey,
    policy: UpdatePolicy,
    results: list[RowResult | None],
) -> dict[Any, Written]:
    """After a batch hit a unique key other than `key`: every row alone, the bad ones reported."""
    touched: dict[Any, Written] = {}
    for index, row in zip(indexes, rows, strict=True):
        try:
            with session.begin_nested():
                touched.update(_execute(session, [row], key, policy))
        except IntegrityError:
            results[index] = RowResult(Outcome.FAILED, errors=_conflicts(session, row, key))
    return touched


def _conflicts(session: Session, row: dict[str, Any], key: str) -> list[FieldError]:
    own = session.scalar(select(Contact.id).where(getattr(Contact, key) == row[key]))
    errors = []
    for name in KEY_FIELDS:
        if name == key or not row.get(name):
            continue
        holder = find_by_key(session, name, row[name])
        if holder is not None and holder != own:
            errors.append(FieldError(name, f"{row[name]!r} belongs to contact {holder} already"))
    return errors or [FieldError(key, "conflicts with a concurrent write; retry the row")]


def _failed(field_name: str, message: str) -> RowResult:
    return RowResult(Outcome.FAILED, errors=[FieldError(field_name, message)])


def upsert_raw(
    session: Session, ctx: Context, items: Sequence[Any], key: DedupeKey, policy: UpdatePolicy
) -> list[RowResult]:
    """Checks raw API input item by item, then upserts the good ones; one result per item."""
    cleaner = make_cleaner(session, ctx)
    results: list[RowResult | None] = [None] * len(items)
    good: list[tuple[int, ContactDraft]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            results[index] = _failed("contact", "expected an object of contact fields")
            continue
        draft, errors = cleaner.clean(item)
        errors.extend(check_references(session, draft.fields))
        if errors:
            results[index] = RowResult(Outcome.FAILED, errors=errors)
        else:
            good.append((index, draft))
    stored = upsert_contacts(session, ctx, [draft for _, draft in good], key, policy)
    for (index, _draft), result in zip(good, stored, strict=True):
        results[index] = result
    return [result for result in results if result is not None]
