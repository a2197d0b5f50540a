"""Static lists: contacts added and removed by hand, by file, by API or by a workflow action.

Every addition logs `List Added` and every removal `List Removed`, so the log holds the history
and a segment can react (`{not: {in_list: Staff}}`).
"""

from collections.abc import Iterable, Sequence
from typing import IO, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from funnelwise.contacts.identity import find_many_by_identity
from funnelwise.contacts.models import Contact
from funnelwise.contacts.normalize import normalize_email
from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.schemas import Page
from funnelwise.context import Context
from funnelwise.csvfile import open_csv
from funnelwise.db.dialect import insert, one_of
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, InvalidInput, NotFound
from funnelwise.reactions.queue import mark_due
from funnelwise.segments.log import LIST_ADDED, LIST_REMOVED, LogEntry, log_entries
from funnelwise.segments.models import StaticList, StaticListMember
from funnelwise.segments.schemas import (
    ListChangeOut,
    ListImportOut,
    ListIn,
    ListOut,
    MemberOut,
    MembersIn,
    RowErrorOut,
)

CHUNK = 1_000
T = TypeVar("T")
# The column a members file names its contacts by, in the order they are looked for.
KEY_COLUMNS = ("contact_id", "email", "user_id")
_members = StaticListMember.__table__


def create_list(session: Session, ctx: Context, data: ListIn) -> ListOut:
    now = ctx.clock.now()
    static_list = StaticList(name=data.name, description=data.description, created_at=now, updated_at=now)
    if not write_or_undo(session, lambda: session.add(static_list)):
        raise Conflict("name", f"a list named {data.name!r} exists already")
    return _out(session, static_list)


def get_list(session: Session, list_id: int) -> ListOut:
    return _out(session, _load(session, list_id))


def list_lists(session: Session) -> list[ListOut]:
    return [_out(session, found) for found in session.scalars(select(StaticList).order_by(StaticList.id))]


def delete_list(session: Session, list_id: int) -> None:
    """Forgets the list and its members; the events it logged stay in the log."""
    session.delete(_load(session, list_id))
    session.flush()


def list_id_named(session: Session, name: str) -> int:
    """The id of the list with this name, or with this id when it is a number no name matches."""
    found = session.scalar(select(StaticList.id).where(StaticList.name == name))
    if found is None and name.isdigit():
        found = session.scalar(select(StaticList.id).where(StaticList.id == int(name)))
    if found is None:
        raise NotFound("list", name)
    return found


def add_members(session: Session, ctx: Context, list_id: int, contact_ids: Iterable[int]) -> ListChangeOut:
    """Puts the contacts on the list; logs `List Added` for each one that was not on it."""
    static_list = _load(session, list_id)
    now = ctx.clock.now()
    ids, missing = _existing(session, contact_ids)
    added: list[int] = []
    for chunk in _chunks(ids):
        rows = [{"list_id": list_id, "contact_id": contact_id, "added_at": now} for contact_id in chunk]
        statement = insert(session, _members).values(rows).on_conflict_do_nothing()
        added += session.scalars(statement.returning(_members.c.contact_id)).all()
    _log(session, static_list, LIST_ADDED, "added", sorted(added), ctx)
    mark_due(session, ctx, added)
    return ListChangeOut(changed=len(added), unchanged=len(ids) - len(added), not_found=missing)


def remove_members(session: Session, ctx: Context, list_id: int, contact_ids: Iterable[int]) -> ListChangeOut:
    """Takes the contacts off the list; logs `List Removed` for each one that was on it."""
    static_list = _load(session, list_id)
    ids, missing = _existing(session, contact_ids)
    removed: list[int] = []
    for chunk in _chunks(ids):
        statement = delete(_members).where(
            _members.c.list_id == list_id, one_of(session, _members.c.contact_id, chunk)
        )
        removed += session.scalars(statement.returning(_members.c.contact_id)).all()
    _log(session, static_list, LIST_REMOVED, "removed", sorted(removed), ctx)
    mark_due(session, ctx, removed)
    return ListChangeOut(changed=len(removed), unchanged=len(ids) - len(removed), not_found=missing)


def contact_ids_of(session: Session, data: MembersIn) -> tuple[list[int], list[str]]:
    """The contacts named by id, email or user id, and every name that found no contact."""
    ids, missing = _existing(session, data.contact_ids)
    for field, values in (("email", data.emails), ("user_id", data.user_ids)):
        keys = {value: _key(field, value) for value in values}
        found = _by_key(session, field, sorted({key for key in keys.values() if key}))
        ids += [found[key] for key in keys.values() if key in found]
        missing += [value for value, key in keys.items() if key not in found]
    return sorted(set(ids)), missing


def import_members(
    session: Session, ctx: Context, list_id: int, stream: IO[bytes], *, remove: bool = False
) -> ListImportOut:
    """Adds (or removes) the contacts a CSV names in a `contact_id`, `email` or `user_id` column.

    A row naming no known contact is reported by its line number; the other rows still count.
    """
    _load(session, list_id)
    csv_rows = open_csv(stream)
    headers = [header.strip().lower() for header in csv_rows.headers]
    field = next((column for column in KEY_COLUMNS if column in headers), None)
    if field is None:
        raise InvalidInput.single(
            "file", f"expected a column named {', '.join(KEY_COLUMNS)}; got {', '.join(headers)}"
        )
    at = headers.index(field)
    lines = [(line, cells[at].strip() if at < len(cells) else "") for line, cells in csv_rows.rows]
    found = _found_by_line(session, field, lines)
    ids = sorted({contact_id for contact_id in found.values()})
    change = (remove_members if remove else add_members)(session, ctx, list_id, ids)
    errors = [
        RowErrorOut(
            line=line, reason=f"{field}: no contact with {field} {value!r}" if value else f"{field}: empty"
        )
        for line, value in lines
        if line not in found
    ]
    return ListImportOut(
        rows=len(lines), added=change.changed, unchanged=change.unchanged, failed=len(errors), errors=errors
    )


def list_members(
    session: Session, list_id: int, *, cursor: str | None = None, limit: int = 100
) -> Page[MemberOut]:
    _load(session, list_id)
    query = (
        select(Contact)
        .join(StaticListMember, StaticListMember.contact_id == Contact.id)
        .where(StaticListMember.list_id == list_id)
        .order_by(Contact.id)
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(Contact.id > decode_cursor(cursor))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(results=[MemberOut.model_validate(row) for row in rows[:limit]], next_cursor=next_cursor)


def _found_by_line(session: Session, field: str, lines: list[tuple[int, str]]) -> dict[int, int]:
    """For each line whose value names a contact, that contact's id."""
    if field == "contact_id":
        numbers = {line: int(value) for line, value in lines if value.isdigit() and len(value) < 19}
        existing, _missing = _existing(session, numbers.values())
        known = set(existing)
        return {line: number for line, number in numbers.items() if number in known}
    keys = {line: _key(field, value) for line, value in lines}
    by_key = _by_key(session, field, sorted({key for key in keys.values() if key}))
    return {line: by_key[key] for line, key in keys.items() if key in by_key}


def _existing(session: Session, contact_ids: Iterable[int]) -> tuple[list[int], list[str]]:
    wanted = sorted(set(contact_ids))
    found: set[int] = set()
    for chunk in _chunks(wanted):
        found.update(session.scalars(select(Contact.id).where(one_of(session, Contact.id, chunk))))
    return sorted(found), [str(contact_id) for contact_id in wanted if contact_id not in found]


def _key(field: str, value: str) -> str | None:
    if field != "email":
        return value.strip() or None
    try:
        return normalize_email(value)
    except ValueError:
        return None


def _by_key(session: Session, field: str, keys: list[str]) -> dict[str, int]:
    """Which contact each key belongs to, as its own email or user id or as a merged-away one."""
    column = getattr(Contact, field)
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
        found.update(session.execute(select(column, Contact.id).where(one_of(session, column, chunk))).all())
    rest = [key for key in keys if key not in found]
    for chunk in _chunks(rest):
        found.update(find_many_by_identity(session, field, list(chunk)))
    return found


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _log(
    session: Session, static_list: StaticList, name: str, change: str, contact_ids: list[int], ctx: Context
) -> None:
    now = ctx.clock.now()
    properties = {"list_id": static_list.id, "list_name": static_list.name}
    entries = [
        LogEntry(name, "list", static_list.id, contact_id, change, now, properties)
        for contact_id in contact_ids
    ]
    log_entries(session, entries)


def _load(session: Session, list_id: int) -> StaticList:
    found = session.get(StaticList, list_id)
    if found is None:
        raise NotFound("list", list_id)
    return found


def _out(session: Session, static_list: StaticList) -> ListOut:
    session.flush()
    count = session.scalar(select(func.count()).where(_members.c.list_id == static_list.id)) or 0
    return ListOut(
        id=static_list.id,
        name=static_list.name,
        description=static_list.description,
        member_count=count,
        created_at=static_list.created_at,
        updated_at=static_list.updated_at,
    )
