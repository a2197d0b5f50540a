"""The ingest path: check messages, resolve who they are about, append them to the event log."""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.commerce.orders import record_commerce_events
from funnelwise.contacts.companies import size_band
from funnelwise.contacts.merge import merge_contacts
from funnelwise.contacts.models import Company, Contact, ContactIdentity
from funnelwise.contacts.normalize import normalize_domain
from funnelwise.contacts.service import make_cleaner
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, one_of
from funnelwise.db.staging import staged
from funnelwise.errors import FieldError
from funnelwise.tracking.attribution import earlier, later, touch_from
from funnelwise.tracking.identity import (
    Profiles,
    contacts_of_users,
    create_user_contacts,
    identify_contact,
    join,
)
from funnelwise.tracking.messages import Message, MessageType, Rejected, read_message
from funnelwise.tracking.models import AnonymousProfile, Event

STAGE_MIN_ROWS = 50
RETRIES = 5


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, FieldError]] = field(default_factory=list)
    warnings: list[tuple[int, FieldError]] = field(default_factory=list)


@dataclass
class _Batch:
    """What one transaction learns while it stores a batch."""

    profiles: Profiles
    users: dict[str, int]
    touches: dict[tuple[str, Any], list[dict[str, Any]]] = field(default_factory=dict)


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
    """Stores the messages in one transaction, retried when PostgreSQL picks it to break a deadlock."""
    for attempt in range(RETRIES):
        try:
            with sessions.begin() as session:
                stored = _store(session, ctx, source_id, messages)
            break
        except OperationalError as exc:
            if attempt == RETRIES - 1 or not _is_retryable(exc):
                raise
            time.sleep(0.01 * 2**attempt)
    result.accepted += stored
    result.duplicates += len(messages) - stored
    result.warnings.extend((index, w) for index, message in messages for w in message.warnings)
    return result


def _is_retryable(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def _store(session: Session, ctx: Context, source_id: int | None, messages: list[tuple[int, Message]]) -> int:
    fresh = _not_seen_before(session, [m for _, m in messages])
    if not fresh:
        return 0
    batch = _Batch(
        profiles=Profiles.lock(session, ctx, [m.anonymous_id for m in fresh if m.anonymous_id]),
        users=contacts_of_users(session, [m.user_id for m in fresh if m.user_id]),
    )
    identified = {m.user_id for m in fresh if m.type is MessageType.IDENTIFY}
    unknown = {m.user_id for m in fresh if m.user_id and m.user_id not in batch.users} - identified
    batch.users |= create_user_contacts(session, ctx, unknown)
    contact_ids = [_resolve(session, ctx, batch, message) for message in fresh]
    rows = [
        _row(message, contact_id, batch, source_id, ctx)
        for message, contact_id in zip(fresh, contact_ids, strict=True)
    ]
    _save_touches(session, batch)
    inserted = _insert_events(session, rows)
    record_commerce_events(session, ctx, [row for row in rows if row["message_id"] in inserted])
    return len(inserted)


def _not_seen_before(session: Session, messages: list[Message]) -> list[Message]:
    """Drops replays: messages whose id is in the log already, or earlier in this batch."""
    ids = [m.message_id for m in messages]
    seen = set(session.scalars(select(Event.message_id).where(one_of(session, Event.message_id, ids))))
    fresh = []
    for message in messages:
        if message.message_id not in seen:
            seen.add(message.message_id)
            fresh.append(message)
    return fresh


def _resolve(session: Session, ctx: Context, batch: _Batch, message: Message) -> int | None:
    """The contact a message is about, after what the call itself does to identities."""
    if message.type is MessageType.IDENTIFY:
        contact_id = identify_contact(
            session, ctx, make_cleaner(session, ctx), message.user_id, message.traits, message.warnings
        )
        if message.user_id and contact_id is not None:
            batch.users[message.user_id] = contact_id
    elif message.type is MessageType.ALIAS:
        contact_id = _alias(session, ctx, batch, message)
    else:
        contact_id = _known_contact(batch, message)
    if contact_id is not None and message.anonymous_id:
        join(session, batch.profiles, message.anonymous_id, contact_id)
    if message.type is MessageType.GROUP:
        _group(session, ctx, message, contact_id)
    if message.type is MessageType.PAGE:
        touch = touch_from(message.context, message.properties, message.occurred_at)
        if touch is not None:
            key = ("contact", contact_id) if contact_id is not None else ("anonymous", message.anonymous_id)
            batch.touches.setdefault(key, []).append(touch)
    return contact_id


def _known_contact(batch: _Batch, message: Message) -> int | None:
    if message.user_id:
        return batch.users.get(message.user_id)
    return batch.profiles.contact_of.get(message.anonymous_id or "")


def _alias(session: Session, ctx: Context, batch: _Batch, message: Message) -> int | None:
    """previousId becomes another name of userId's contact: a visitor joins it, a contact merges in."""
    assert message.user_id is not None and message.previous_id is not None
    previous = contacts_of_users(session, [message.previous_id]).get(message.previous_id)
    current = batch.users.get(message.user_id)
    if previous is None:
        if current is None:
            current = create_user_contacts(session, ctx, [message.user_id])[message.user_id]
            batch.users[message.user_id] = current
        if message.previous_id not in batch.profiles.contact_of:
            batch.profiles.contact_of |= Profiles.lock(session, ctx, [message.previous_id]).contact_of
        join(session, batch.profiles, message.previous_id, current)
        return current
    if current is None or current == previous:
        contact = session.get(Contact, previous)
        if contact is not None and contact.user_id != message.user_id:
            session.add(
                ContactIdentity(
                    contact_id=previous, kind="user_id", value=message.previous_id, created_at=ctx.clock.now()
                )
            )
            contact.user_id = message.user_id
            contact.updated_at = ctx.clock.now()
            session.flush()
        batch.users[message.user_id] = previous
        return previous
    merge_contacts(session, ctx, current, previous)
    batch.users[message.previous_id] = current
    return current


def _group(session: Session, ctx: Context, message: Message, contact_id: int | None) -> None:
    """Keeps the company the groupId names, with its traits, and puts the contact in it."""
    traits = message.traits
    now = ctx.clock.now()
    values = _company_traits(traits, message.warnings)
    company = session.scalar(select(Company).where(Company.external_id == message.group_id))
    if company is None and values.get("domain"):
        # The company may be known already, created from its people's email domain.
        company = session.scalar(
            select(Company).where(Company.domain == values["domain"], Company.external_id.is_(None))
        )
        if company is not None:
            company.external_id = message.group_id
    if company is None:
        company = Company(
            external_id=message.group_id,
            name=str(traits.get("name") or message.group_id),
            properties={},
            created_at=now,
            updated_at=now,
        )
        session.add(company)
    for name, value in values.items():
        setattr(company, name, value)
    company.updated_at = now
    session.flush()
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
        if employees is not None:
            values["size_band"] = size_band(employees)
    except ValueError as exc:
        warnings.append(FieldError("traits", str(exc)))
    return values


def _row(
    message: Message, contact_id: int | None, batch: _Batch, source_id: int | None, ctx: Context
) -> dict[str, Any]:
    if contact_id is None and message.anonymous_id:
        # A visitor identified later in the same batch: its earlier events are theirs too.
        contact_id = batch.profiles.contact_of.get(message.anonymous_id)
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
        "source_id": source_id,
        "type": message.type.value,
        "name": message.name,
        "properties": properties,
        "context": message.context,
        "occurred_at": message.occurred_at,
        "received_at": ctx.clock.now(),
    }


def _save_touches(session: Session, batch: _Batch) -> None:
    """First touch kept, last touch moved on: for contacts and for visitors not yet known."""
    for (kind, key), touches in batch.touches.items():
        first = min(touches, key=lambda t: t["at"])
        last = max(touches, key=lambda t: t["at"])
        targets: list[Any] = []
        if kind == "anonymous":
            targets.append(
                session.scalar(select(AnonymousProfile).where(AnonymousProfile.anonymous_id == key))
            )
            # The visitor may have joined a contact later in this batch.
            key = batch.profiles.contact_of.get(key)
        if key is not None:
            targets.append(session.get(Contact, key))
        for target in targets:
            if target is not None:
                target.first_touch = earlier(target.first_touch, first)
                target.last_touch = later(target.last_touch, last)
    session.flush()


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Appends the rows; a message id stored meanwhile by a concurrent request is skipped."""
    table = Event.__table__
    statement = insert(session, table).on_conflict_do_nothing(index_elements=["message_id"])
    if dialect_name(session) == "postgresql" and len(rows) >= STAGE_MIN_ROWS:
        with staged(session, table, rows) as stage:
            source = select(*stage.c).order_by(stage.c.message_id)
            statement = statement.from_select(list(stage.c.keys()), source)
            return set(session.scalars(statement.returning(table.c.message_id)))
    return set(session.scalars(statement.returning(table.c.message_id), rows))
