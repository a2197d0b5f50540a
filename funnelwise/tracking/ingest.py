"""The ingest path: check messages, resolve who they are about, append them to the event log."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.commerce.models import Order
from funnelwise.commerce.orders import record_commerce_events
from funnelwise.contacts.companies import size_band
from funnelwise.contacts.fields import ContactCleaner
from funnelwise.contacts.merge import merge_contacts
from funnelwise.contacts.models import Company, Contact, ContactIdentity
from funnelwise.contacts.normalize import normalize_domain
from funnelwise.contacts.service import make_cleaner
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, one_of
from funnelwise.db.writes import write_retrying
from funnelwise.errors import FieldError
from funnelwise.reactions.queue import mark_due
from funnelwise.tracking.attribution import earlier, later, touch_from
from funnelwise.tracking.identity import (
    Profiles,
    contacts_of_users,
    create_user_contacts,
    identify_contact,
)
from funnelwise.tracking.messages import Message, MessageType, Rejected, read_message
from funnelwise.tracking.models import AnonymousProfile, Event

# Calls that change a contact: its row is locked up front, in id order, before any of them runs.
_CHANGING = frozenset({MessageType.IDENTIFY, MessageType.ALIAS, MessageType.GROUP, MessageType.PAGE})


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, FieldError]] = field(default_factory=list)
    warnings: list[tuple[int, FieldError]] = field(default_factory=list)


@dataclass
class _Touch:
    user_id: str | None
    anonymous_id: str | None
    contact_id: int | None
    touch: dict[str, Any]


@dataclass
class _Batch:
    """What one transaction learns while it stores a batch."""

    profiles: Profiles
    users: dict[str, int]
    touches: list[_Touch] = field(default_factory=list)
    # Contacts merged away during the batch: gone id -> kept id.
    merged: dict[int, int] = field(default_factory=dict)
    warnings: list[tuple[int, FieldError]] = field(default_factory=list)
    cleaner: ContactCleaner | None = None
    # Held here because the session's identity map keeps only weak references.
    loaded: list[Contact] = field(default_factory=list)
    # Visitors joined during the batch, whose rows move in one go before the events are stored.
    joins: dict[str, int] = field(default_factory=dict)

    def join(self, anonymous_id: str, contact_id: int) -> None:
        """Joins a visitor to a contact for the rest of the batch; a joined visitor stays joined."""
        if self.profiles.contact_of.get(anonymous_id) is None:
            self.profiles.contact_of[anonymous_id] = contact_id
            self.joins[anonymous_id] = contact_id

    def final(self, contact_id: int | None) -> int | None:
        """The contact an id names once this batch's merges are done."""
        while contact_id in self.merged:
            contact_id = self.merged[contact_id]
        return contact_id

    def contact_of(
        self, user_id: str | None, anonymous_id: str | None, contact_id: int | None = None
    ) -> int | None:
        """Whom a message is about as the batch stands: its user's contact, else its visitor's."""
        if contact_id is None and user_id:
            contact_id = self.users.get(user_id)
        if contact_id is None and anonymous_id:
            contact_id = self.profiles.contact_of.get(anonymous_id)
        return self.final(contact_id)


def read_messages(
    ctx: Context,
    raws: Sequence[Any],
    *,
    forced_type: MessageType | None = None,
    batch_sent_at: datetime | None = None,
    extra_context: dict[str, Any] | None = None,
) -> tuple[list[tuple[int, Message]], IngestResult]:
    """Checks every message alone; the good ones with their index, the bad ones in the result."""
    received_at = ctx.clock.now()
    result = IngestResult()
    good: list[tuple[int, Message]] = []
    for index, raw in enumerate(raws):
        try:
            message = read_message(
                raw,
                received_at=received_at,
                tz=ctx.settings.tz,
                forced_type=forced_type,
                batch_sent_at=batch_sent_at,
            )
        except Rejected as exc:
            result.rejected.append((index, exc.error))
            continue
        for key, value in (extra_context or {}).items():
            if value:
                message.context.setdefault(key, value)
        good.append((index, message))
    return good, result


def ingest(
    sessions: sessionmaker[Session],
    ctx: Context,
    source_id: int | None,
    messages: list[tuple[int, Message]],
    result: IngestResult,
) -> IngestResult:
    """Stores the messages now, in one transaction: the path of imports, which wait for their rows."""
    for _, message in messages:
        message.source_id = source_id
    stored, warnings = write_retrying(sessions, lambda session: store_messages(session, ctx, messages))
    result.accepted += stored
    result.duplicates += len(messages) - stored
    result.warnings.extend(warnings)
    return result


def store_messages(
    session: Session, ctx: Context, messages: list[tuple[int, Message]]
) -> tuple[int, list[tuple[int, FieldError]]]:
    """Resolves who each message is about and appends the new ones to the log; (stored, warnings)."""
    fresh = _not_seen_before(session, messages)
    if not fresh:
        return 0, []
    aliases = [m for _, m in fresh if m.type is MessageType.ALIAS]
    users = contacts_of_users(
        session,
        [m.user_id for _, m in fresh if m.user_id] + [m.previous_id for m in aliases if m.previous_id],
    )
    # An alias's previousId that is no user id is a visitor's: locked with the batch's visitors.
    visitors = [m.anonymous_id for _, m in fresh if m.anonymous_id]
    visitors += [m.previous_id for m in aliases if m.previous_id and m.previous_id not in users]
    batch = _Batch(profiles=Profiles.lock(session, ctx, visitors), users=users)
    # Identify and alias decide themselves which contact their user id names.
    named_by_call = {m.user_id for _, m in fresh if m.type in (MessageType.IDENTIFY, MessageType.ALIAS)}
    unknown = {m.user_id for _, m in fresh if m.user_id and m.user_id not in batch.users} - named_by_call
    batch.users |= create_user_contacts(session, ctx, unknown)
    _load_contacts(session, batch, [m for _, m in fresh])
    contact_ids = [_resolve(session, ctx, batch, index, message) for index, message in fresh]
    rows = [
        _row(message, batch.contact_of(message.user_id, message.anonymous_id, contact_id))
        for (_, message), contact_id in zip(fresh, contact_ids, strict=True)
    ]
    _apply_joins(session, batch)
    _save_touches(session, batch)
    inserted = _insert_events(session, rows)
    stored = [row for row in rows if row["message_id"] in inserted]
    mark_due(session, ctx, [row["contact_id"] for row in stored])
    index_of = {message.message_id: index for index, message in fresh}
    for warning in record_commerce_events(session, ctx, stored):
        batch.warnings.append((index_of[warning.message_id], warning.error))
    return len(inserted), batch.warnings


def _not_seen_before(session: Session, messages: list[tuple[int, Message]]) -> list[tuple[int, Message]]:
    """Drops replays: messages whose id is in the log already, or earlier in this batch."""
    ids = [m.message_id for _, m in messages]
    seen = set(session.scalars(select(Event.message_id).where(one_of(session, Event.message_id, ids))))
    fresh = []
    for index, message in messages:
        if message.message_id not in seen:
            seen.add(message.message_id)
            fresh.append((index, message))
    return fresh


def _load_contacts(session: Session, batch: _Batch, messages: list[Message]) -> None:
    """Loads the known contacts the batch will change, in one query; on PostgreSQL also locks them.

    Locked in id order before any of them changes, so two batches never deadlock on contacts.
    """
    ids = {batch.contact_of(m.user_id, m.anonymous_id) for m in messages if m.type in _CHANGING}
    ids |= {batch.contact_of(m.previous_id, m.previous_id) for m in messages if m.type is MessageType.ALIAS}
    wanted = sorted(i for i in ids if i is not None)
    if wanted:
        query = select(Contact).where(one_of(session, Contact.id, wanted)).order_by(Contact.id)
        if dialect_name(session) == "postgresql":
            query = query.with_for_update(key_share=True)
        batch.loaded = list(session.scalars(query))


def _resolve(session: Session, ctx: Context, batch: _Batch, index: int, message: Message) -> int | None:
    """The contact a message is about, after what the call itself does to identities."""
    if message.type is MessageType.IDENTIFY:
        contact_id = _identify(session, ctx, batch, index, message)
    elif message.type is MessageType.ALIAS:
        contact_id = _alias(session, ctx, batch, index, message)
    else:
        contact_id = batch.contact_of(message.user_id, message.anonymous_id)
    if contact_id is not None and message.anonymous_id:
        batch.join(message.anonymous_id, contact_id)
    if message.type is MessageType.GROUP:
        _group(session, ctx, batch, index, message, contact_id)
    if message.type is MessageType.PAGE:
        touch = touch_from(message.context, message.properties, message.occurred_at)
        if touch is not None:
            batch.touches.append(_Touch(message.user_id, message.anonymous_id, contact_id, touch))
    return contact_id


def _identify(session: Session, ctx: Context, batch: _Batch, index: int, message: Message) -> int | None:
    if batch.cleaner is None:
        batch.cleaner = make_cleaner(session, ctx)
    warnings: list[FieldError] = []
    known = batch.final(batch.users.get(message.user_id or ""))
    contact_id = identify_contact(
        session,
        ctx,
        batch.cleaner,
        message.user_id,
        message.traits,
        warnings,
        merged=batch.merged,
        contact_id=known,
    )
    batch.warnings.extend((index, warning) for warning in warnings)
    if message.user_id and contact_id is not None:
        batch.users[message.user_id] = contact_id
    return contact_id


def _alias(session: Session, ctx: Context, batch: _Batch, index: int, message: Message) -> int | None:
    """previousId becomes another name of userId's contact: a visitor joins it, a contact merges in.

    previousId is an earlier user id (its contact merges into userId's, or takes userId as its
    new user id when userId is new), or else a visitor's anonymous id (it joins userId's contact,
    or its contact takes userId when that contact has no user id yet).
    """
    assert message.user_id is not None and message.previous_id is not None
    current = batch.final(batch.users.get(message.user_id))
    if message.previous_id == message.user_id:
        return current if current is not None else _user_contact(session, ctx, batch, message.user_id)
    previous = batch.final(batch.users.get(message.previous_id))
    if previous is None:
        previous = batch.final(batch.profiles.contact_of.get(message.previous_id))
        holder = session.get(Contact, previous) if previous is not None else None
        if holder is not None and holder.user_id not in (None, message.user_id):
            batch.warnings.append(
                (index, FieldError("previousId", f"belongs to user {holder.user_id!r}; left there"))
            )
            previous = None
        if previous is None:
            contact_id = (
                current if current is not None else _user_contact(session, ctx, batch, message.user_id)
            )
            batch.join(message.previous_id, contact_id)
            return contact_id
    if current is None:
        _rename_user(session, ctx, previous, message.user_id)
        batch.users[message.user_id] = previous
        return previous
    if current != previous:
        merge_contacts(session, ctx, current, previous)
        batch.merged[previous] = current
    return current


def _user_contact(session: Session, ctx: Context, batch: _Batch, user_id: str) -> int:
    contact_id = create_user_contacts(session, ctx, [user_id])[user_id]
    batch.users[user_id] = contact_id
    return contact_id


def _rename_user(session: Session, ctx: Context, contact_id: int, user_id: str) -> None:
    """The contact is known by `user_id` from now on; its old user id still finds it."""
    contact = session.get(Contact, contact_id)
    assert contact is not None
    now = ctx.clock.now()
    if contact.user_id is not None:
        session.add(
            ContactIdentity(contact_id=contact.id, kind="user_id", value=contact.user_id, created_at=now)
        )
    contact.user_id = user_id
    contact.updated_at = now
    session.flush()


def _group(
    session: Session, ctx: Context, batch: _Batch, index: int, message: Message, contact_id: int | None
) -> None:
    """Keeps the company the groupId names, with its traits, and puts the contact in it."""
    traits = message.traits
    now = ctx.clock.now()
    warnings: list[FieldError] = []
    values = _company_traits(traits, warnings)
    company = session.scalar(select(Company).where(Company.external_id == message.group_id))
    domain = values.pop("domain", None)
    holder = session.scalar(select(Company).where(Company.domain == domain)) if domain else None
    if company is None and holder is not None and holder.external_id is None:
        # Known already, created from its people's email domain: the groupId names it from now on.
        company, holder = holder, None
        company.external_id = message.group_id
    if company is None:
        company = Company(
            external_id=message.group_id, name=message.group_id, properties={}, created_at=now, updated_at=now
        )
        session.add(company)
    if domain and holder is not None and holder is not company:
        warnings.append(
            FieldError("traits.website", f"{domain!r} belongs to company {holder.id}; left there")
        )
    elif domain:
        company.domain = domain
    for name, value in values.items():
        setattr(company, name, value)
    company.updated_at = now
    session.flush()
    batch.warnings.extend((index, warning) for warning in warnings)
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is not None and contact.company_id != company.id:
            contact.company_id = company.id
            contact.updated_at = now


def _company_traits(traits: dict[str, Any], warnings: list[FieldError]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if isinstance(traits.get("name"), str) and traits["name"].strip():
        values["name"] = traits["name"].strip()[:255]
    if isinstance(traits.get("industry"), str):
        values["industry"] = traits["industry"][:255]
    website = traits.get("website") or traits.get("domain")
    employees = traits.get("employees") or traits.get("employee_count")
    try:
        if isinstance(website, str):
            values["domain"] = normalize_domain(website)
    except ValueError as exc:
        warnings.append(FieldError("traits.website", str(exc)))
    try:
        if employees is not None:
            values["size_band"] = size_band(employees)
    except ValueError as exc:
        warnings.append(FieldError("traits.employees", str(exc)))
    return values


def _row(message: Message, contact_id: int | None) -> dict[str, Any]:
    properties = message.properties
    if message.type is MessageType.IDENTIFY:
        properties = message.traits
    elif message.type is MessageType.GROUP:
        properties = {"group_id": message.group_id, **message.traits}
    elif message.type is MessageType.ALIAS:
        properties = {"previous_id": message.previous_id}
    return {
        "message_id": message.message_id,
        "contact_id": contact_id,
        "anonymous_id": message.anonymous_id,
        "source_id": message.source_id,
        "type": message.type.value,
        "name": message.name,
        "properties": properties,
        "context": message.context,
        "occurred_at": message.occurred_at,
        "received_at": message.received_at,
    }


def _apply_joins(session: Session, batch: _Batch) -> None:
    """Moves the joined visitors' profiles, earlier events, orders and touches to their contacts.

    One statement per table for the whole batch; the profiles are locked since the batch began,
    and a contact merged away meanwhile is replaced by the one it was merged into.
    """
    if not batch.joins:
        return
    pairs = [{"visitor": a, "contact": batch.final(c)} for a, c in sorted(batch.joins.items())]
    for model in (AnonymousProfile, Event, Order):
        table = model.__table__
        session.execute(
            update(table)
            .where(table.c.anonymous_id == bindparam("visitor"), table.c.contact_id.is_(None))
            .values(contact_id=bindparam("contact")),
            pairs,
        )
    contact_of = {pair["visitor"]: pair["contact"] for pair in pairs}
    touched = session.execute(
        select(
            AnonymousProfile.anonymous_id, AnonymousProfile.first_touch, AnonymousProfile.last_touch
        ).where(
            one_of(session, AnonymousProfile.anonymous_id, list(contact_of)),
            or_(AnonymousProfile.first_touch.is_not(None), AnonymousProfile.last_touch.is_not(None)),
        )
    )
    for anonymous_id, first, last in touched:
        contact = session.get(Contact, contact_of[anonymous_id])
        if contact is not None:
            contact.first_touch = earlier(contact.first_touch, first)
            contact.last_touch = later(contact.last_touch, last)
    batch.joins.clear()


def _save_touches(session: Session, batch: _Batch) -> None:
    """First touch kept, last touch moved on: for contacts, and for visitors not known yet."""
    by_contact: dict[int, list[dict[str, Any]]] = {}
    by_visitor: dict[str, list[dict[str, Any]]] = {}
    for item in batch.touches:
        contact_id = batch.contact_of(item.user_id, item.anonymous_id, item.contact_id)
        if contact_id is not None:
            by_contact.setdefault(contact_id, []).append(item.touch)
        elif item.anonymous_id:
            by_visitor.setdefault(item.anonymous_id, []).append(item.touch)
    if by_contact:
        # Loaded by _load_contacts, or by the identify or join that made them known.
        contacts = [session.get(Contact, contact_id) for contact_id in sorted(by_contact)]
        _move_touches([c for c in contacts if c is not None], lambda c: by_contact[c.id])
    if by_visitor:
        visitors = session.scalars(
            select(AnonymousProfile).where(one_of(session, AnonymousProfile.anonymous_id, sorted(by_visitor)))
        )
        _move_touches(visitors, lambda v: by_visitor[v.anonymous_id])
    session.flush()


def _move_touches(targets: Any, touches_of: Any) -> None:
    for target in targets:
        touches = touches_of(target)
        first = min(touches, key=lambda t: t["at"])
        last = max(touches, key=lambda t: t["at"])
        first_touch, last_touch = earlier(target.first_touch, first), later(target.last_touch, last)
        if first_touch != target.first_touch:
            target.first_touch = first_touch
        if last_touch != target.last_touch:
            target.last_touch = last_touch


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Appends the rows in their order; on PostgreSQL an id stored meanwhile by another writer is skipped."""
    if dialect_name(session) == "postgresql":
        document = json.dumps(rows, separators=(",", ":"), ensure_ascii=False, default=_iso)
        return set(session.scalars(_POSTGRES_INSERT, {"rows": document}))
    # SQLite runs one writing transaction at a time, and this one found none of these ids stored:
    # no row can conflict, so nothing needs to come back.
    session.execute(insert(session, Event.__table__), rows)
    return {row["message_id"] for row in rows}


def _iso(value: datetime) -> str:
    return value.isoformat()


_EVENT_COLUMNS = {
    "message_id": "text", "contact_id": "bigint", "anonymous_id": "text", "source_id": "bigint", "type": "text",
    "name": "text", "properties": "jsonb", "context": "jsonb", "occurred_at": "timestamptz",
    "received_at": "timestamptz",
}  # fmt: skip
# The batch travels as one JSON document, which PostgreSQL takes apart: the statement's text is the
# same for any number of rows, so it is prepared once, and nothing is escaped value by value (as
# an array per column would be) or parsed anew (as a VALUES list or a staging table is).
_POSTGRES_INSERT = text(
    f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) "
    f"SELECT {', '.join(_EVENT_COLUMNS)} FROM ROWS FROM (jsonb_to_recordset(CAST(:rows AS jsonb)) "
    f"AS ({', '.join(f'{name} {kind}' for name, kind in _EVENT_COLUMNS.items())})) "
    f"WITH ORDINALITY AS r({', '.join(_EVENT_COLUMNS)}, n) "
    "ORDER BY n ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
)
