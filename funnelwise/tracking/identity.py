"""Identity resolution: anonymous visitors, the contacts user ids name, and joining the two."""

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import literal, select, text, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from funnelwise.commerce.models import Order
from funnelwise.contacts.companies import company_ids_by_name
from funnelwise.contacts.fields import ContactCleaner, ContactDraft
from funnelwise.contacts.identity import find_by_key
from funnelwise.contacts.merge import merge_contacts
from funnelwise.contacts.models import Contact, ContactIdentity
from funnelwise.contacts.names import split_full_name
from funnelwise.contacts.service import auto_company_id
from funnelwise.context import Context
from funnelwise.db.dialect import dialect_name, insert, one_of
from funnelwise.errors import FieldError
from funnelwise.tracking.attribution import earlier, later
from funnelwise.tracking.models import AnonymousProfile, Event

_TRAIT_FIELDS = {
    "email": "email", "phone": "phone", "firstName": "first_name", "first_name": "first_name",
    "lastName": "last_name", "last_name": "last_name", "title": "job_title", "jobTitle": "job_title",
    "job_title": "job_title", "timezone": "timezone", "locale": "locale",
}  # fmt: skip
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class Profiles:
    """The anonymous visitors of one batch, locked for its transaction: anonymous id -> contact id."""

    def __init__(self, rows: Mapping[str, int | None]) -> None:
        self.contact_of: dict[str, int | None] = dict(rows)

    @classmethod
    def lock(cls, session: Session, ctx: Context, anonymous_ids: Iterable[str]) -> "Profiles":
        """Creates the missing profiles and locks all of them, in one global order.

        One upsert per batch, in anonymous-id order: its DO UPDATE locks each row (inserted or
        found) as it goes, so a concurrent join of the same visitor waits and an event is never
        stored anonymous after its visitor joined a contact; the shared order rules out deadlocks
        between batches. It returns the contact each visitor has joined as of the lock.
        """
        wanted = sorted(set(anonymous_ids))
        if not wanted:
            return cls({})
        now = ctx.clock.now()
        if dialect_name(session) == "postgresql":
            found = session.execute(_POSTGRES_LOCK, {"ids": json.dumps(wanted), "now": now})
            return cls(dict(found.all()))
        table = AnonymousProfile.__table__
        statement = insert(session, table)
        statement = statement.on_conflict_do_update(
            index_elements=["anonymous_id"], set_={"last_seen_at": statement.excluded.last_seen_at}
        ).returning(table.c.anonymous_id, table.c.contact_id)
        rows = [{"anonymous_id": a, "created_at": now, "last_seen_at": now} for a in wanted]
        return cls(dict(session.execute(statement, rows).all()))


# The same upsert from one JSON array: one statement text for any number of visitors.
_POSTGRES_LOCK = text(
    "INSERT INTO anonymous_profiles (anonymous_id, created_at, last_seen_at) "
    "SELECT a, :now, :now FROM jsonb_array_elements_text(CAST(:ids AS jsonb)) AS a ORDER BY a "
    "ON CONFLICT (anonymous_id) DO UPDATE SET last_seen_at = excluded.last_seen_at "
    "RETURNING anonymous_id, contact_id"
)


def contacts_of_users(session: Session, user_ids: Iterable[str]) -> dict[str, int]:
    """The contact each known user id belongs to, its own or merged into it."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    own = select(Contact.user_id, Contact.id, literal(0).label("merged")).where(
        one_of(session, Contact.user_id, wanted)
    )
    merged = select(ContactIdentity.value, ContactIdentity.contact_id, literal(1)).where(
        ContactIdentity.kind == "user_id", one_of(session, ContactIdentity.value, wanted)
    )
    found: dict[str, int] = {}
    # A contact's own user id wins over one merged into another contact.
    for user_id, contact_id, _ in session.execute(union_all(own, merged).order_by(text("merged"))):
        found.setdefault(user_id, contact_id)
    return found


def create_user_contacts(session: Session, ctx: Context, user_ids: Iterable[str]) -> dict[str, int]:
    """Contacts that know nothing yet but their user id; a concurrent creator's row is reused."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    now = ctx.clock.now()
    rows = [{"user_id": u, "properties": {}, "created_at": now, "updated_at": now} for u in wanted]
    table = Contact.__table__
    statement = insert(session, table).on_conflict_do_nothing(index_elements=["user_id"])
    created = dict(session.execute(statement.returning(table.c.user_id, table.c.id), rows).all())
    if len(created) < len(wanted):
        created |= contacts_of_users(session, [u for u in wanted if u not in created])
    return created


def traits_input(traits: Mapping[str, Any], property_names: Iterable[str]) -> dict[str, Any]:
    """Identify traits as contact input: known fields, and custom properties defined by name."""
    defined = set(property_names)
    raw: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for key, value in traits.items():
        if key in _TRAIT_FIELDS:
            raw[_TRAIT_FIELDS[key]] = value
        elif key == "name" and isinstance(value, str):
            raw.setdefault("_full_name", value)
        elif key == "company":
            name = value.get("name") if isinstance(value, dict) else value
            if isinstance(name, str) and name.strip():
                raw["company"] = name
        elif key in defined or (snake := _CAMEL.sub("_", key).lower()) in defined:
            properties[key if key in defined else snake] = value
    if properties:
        raw["properties"] = properties
    return raw


def identify_contact(
    session: Session,
    ctx: Context,
    cleaner: ContactCleaner,
    user_id: str | None,
    traits: Mapping[str, Any],
    warnings: list[FieldError],
    *,
    merged: dict[int, int] | None = None,
    contact_id: int | None = None,
) -> int | None:
    """The contact an identify call names, created or updated from its traits.

    `contact_id` is the user id's contact when the caller knows it already (saves a lookup).

    A user id wins; otherwise the email or phone finds the person. When the user id's contact
    has no email (or phone) yet and the given one belongs to a contact nobody has identified
    (an imported lead, a form submit), both are the same person: that contact is merged into
    the user's, and `merged` learns gone id -> kept id. A key that belongs to another user's
    contact is left where it is, with a warning, rather than moved.
    """
    raw = traits_input(traits, cleaner.coercer.specs)
    full_name = raw.pop("_full_name", None)
    draft, errors = cleaner.clean(raw)
    warnings.extend(FieldError(f"traits.{e.field}", e.message) for e in errors)
    if full_name and not draft.fields.get("first_name") and not draft.fields.get("last_name"):
        _set_name(draft, full_name)
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
    else:
        contact = _contact_of_user(session, user_id) if user_id else None
    contact = _claim_by_keys(session, ctx, contact, user_id, draft, warnings, merged)
    if contact is None:
        if user_id is None and not (draft.fields.get("email") or draft.fields.get("phone")):
            return None
        contact = _create(session, ctx, user_id, draft)
    else:
        _apply(contact, user_id, draft, ctx)
    if contact.company_id is None and (contact.email or draft.company_name):
        contact.company_id = _company_for(session, ctx, contact.email, draft.company_name)
    session.flush()
    return contact.id


def join(session: Session, profiles: Profiles, anonymous_id: str, contact_id: int) -> bool:
    """Joins a visitor's anonymous history to a contact; False when it was joined already."""
    if profiles.contact_of.get(anonymous_id) is not None:
        return False
    touches = session.execute(
        update(AnonymousProfile)
        .where(AnonymousProfile.anonymous_id == anonymous_id, AnonymousProfile.contact_id.is_(None))
        .values(contact_id=contact_id)
        .returning(AnonymousProfile.first_touch, AnonymousProfile.last_touch),
        execution_options={"synchronize_session": False},
    ).one_or_none()
    session.execute(
        update(Event)
        .where(Event.anonymous_id == anonymous_id, Event.contact_id.is_(None))
        .values(contact_id=contact_id),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Order)
        .where(Order.anonymous_id == anonymous_id, Order.contact_id.is_(None))
        .values(contact_id=contact_id),
        execution_options={"synchronize_session": False},
    )
    if touches is not None and (touches.first_touch or touches.last_touch):
        contact = session.get(Contact, contact_id)
        if contact is not None:
            contact.first_touch = earlier(contact.first_touch, touches.first_touch)
            contact.last_touch = later(contact.last_touch, touches.last_touch)
    profiles.contact_of[anonymous_id] = contact_id
    return True


def _contact_of_user(session: Session, user_id: str) -> Contact | None:
    contact_id = contacts_of_users(session, [user_id]).get(user_id)
    return session.get(Contact, contact_id) if contact_id is not None else None


def _claim_by_keys(
    session: Session,
    ctx: Context,
    contact: Contact | None,
    user_id: str | None,
    draft: ContactDraft,
    warnings: list[FieldError],
    merged: dict[int, int] | None,
) -> Contact | None:
    for key in ("email", "phone"):
        value = draft.fields.get(key)
        if not value or (contact is not None and getattr(contact, key) == value):
            continue
        holder_id = find_by_key(session, key, value)
        if holder_id is None or (contact is not None and holder_id == contact.id):
            continue
        holder = session.get(Contact, holder_id)
        assert holder is not None
        if contact is None and (user_id is None or holder.user_id in (None, user_id)):
            contact = holder
            continue
        if contact is not None and holder.user_id is None and getattr(contact, key) is None:
            merge_contacts(session, ctx, contact.id, holder.id)
            if merged is not None:
                merged[holder.id] = contact.id
            continue
        draft.fields.pop(key)
        warnings.append(FieldError(f"traits.{key}", f"{value!r} belongs to contact {holder_id}; left there"))
    return contact


def _create(session: Session, ctx: Context, user_id: str | None, draft: ContactDraft) -> Contact:
    now = ctx.clock.now()
    fields = {k: v for k, v in draft.fields.items() if v is not None}
    properties = {k: v for k, v in draft.properties.items() if v is not None}
    contact = Contact(**fields, properties=properties, created_at=now, updated_at=now)
    if user_id:
        contact.user_id = user_id
    try:
        with session.begin_nested():
            session.add(contact)
            session.flush()
    except IntegrityError:
        # A concurrent request created this person first: update theirs instead.
        existing = _contact_of_user(session, user_id) if user_id else None
        if existing is None:
            key = "email" if fields.get("email") else "phone"
            existing_id = find_by_key(session, key, fields[key])
            existing = session.get(Contact, existing_id) if existing_id is not None else None
        if existing is None:
            raise
        _apply(existing, user_id, draft, ctx)
        return existing
    return contact


def _apply(contact: Contact, user_id: str | None, draft: ContactDraft, ctx: Context) -> None:
    changed = False
    if user_id and contact.user_id is None:
        contact.user_id = user_id
        changed = True
    for name, value in draft.fields.items():
        if value is not None and getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    given = {k: v for k, v in draft.properties.items() if v is not None}
    if any(contact.properties.get(k) != v for k, v in given.items()):
        contact.properties = {**contact.properties, **given}
        changed = True
    if changed:
        contact.updated_at = ctx.clock.now()


def _company_for(session: Session, ctx: Context, email: str | None, company_name: str | None) -> int | None:
    company_id = auto_company_id(session, ctx, email)
    if company_id is None and company_name:
        company_id = company_ids_by_name(session, ctx, [company_name])[company_name]
    return company_id


def _set_name(draft: ContactDraft, full_name: str) -> None:
    first, last = split_full_name(full_name)
    draft.fields["first_name"] = first
    draft.fields["last_name"] = last
