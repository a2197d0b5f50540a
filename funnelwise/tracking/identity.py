"""Identity resolution: anonymous visitors, the contacts user ids name, and joining the two."""

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from funnelwise.commerce.models import Order
from funnelwise.contacts.companies import company_ids_by_name
from funnelwise.contacts.fields import ContactCleaner, ContactDraft
from funnelwise.contacts.identity import find_by_key
from funnelwise.contacts.models import Contact, ContactIdentity
from funnelwise.contacts.names import split_full_name
from funnelwise.contacts.service import auto_company_id
from funnelwise.context import Context
from funnelwise.db.dialect import insert, one_of
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

        Locking (FOR UPDATE on PostgreSQL) makes a concurrent join of the same visitor wait, so an
        event is never stored anonymous after its visitor joined a contact.
        """
        wanted = sorted(set(anonymous_ids))
        if not wanted:
            return cls({})
        now = ctx.clock.now()
        found = _locked_profiles(session, wanted)
        missing = [a for a in wanted if a not in found]
        if missing:
            rows = [{"anonymous_id": a, "created_at": now, "last_seen_at": now} for a in missing]
            statement = insert(session, AnonymousProfile.__table__).on_conflict_do_nothing(
                index_elements=["anonymous_id"]
            )
            session.execute(statement, rows)
            found |= _locked_profiles(session, missing)
        session.execute(
            update(AnonymousProfile)
            .where(one_of(session, AnonymousProfile.anonymous_id, wanted))
            .values(last_seen_at=now)
        )
        return cls(found)


def _locked_profiles(session: Session, anonymous_ids: list[str]) -> dict[str, int | None]:
    query = (
        select(AnonymousProfile.anonymous_id, AnonymousProfile.contact_id)
        .where(one_of(session, AnonymousProfile.anonymous_id, anonymous_ids))
        .order_by(AnonymousProfile.anonymous_id)
        .with_for_update()
    )
    return dict(session.execute(query).all())


def contacts_of_users(session: Session, user_ids: Iterable[str]) -> dict[str, int]:
    """The contact each known user id belongs to, its own or merged into it."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    own = session.execute(select(Contact.user_id, Contact.id).where(one_of(session, Contact.user_id, wanted)))
    found: dict[str, int] = {user_id: contact_id for user_id, contact_id in own if user_id is not None}
    merged = session.execute(
        select(ContactIdentity.value, ContactIdentity.contact_id).where(
            ContactIdentity.kind == "user_id", one_of(session, ContactIdentity.value, wanted)
        )
    )
    for user_id, contact_id in merged:
        found.setdefault(user_id, contact_id)
    return found


def create_user_contacts(session: Session, ctx: Context, user_ids: Iterable[str]) -> dict[str, int]:
    """Contacts that know nothing yet but their user id; a concurrent creator's row is reused."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    now = ctx.clock.now()
    rows = [{"user_id": u, "properties": {}, "created_at": now, "updated_at": now} for u in wanted]
    statement = insert(session, Contact.__table__).on_conflict_do_nothing(index_elements=["user_id"])
    session.execute(statement, rows)
    return contacts_of_users(session, wanted)


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
) -> int | None:
    """The contact an identify call names, created or updated from its traits.

    A user id wins; otherwise the email or phone finds the person. A known email or phone that
    belongs to another person is left where it is, with a warning, rather than moved.
    """
    raw = traits_input(traits, cleaner.coercer.specs)
    full_name = raw.pop("_full_name", None)
    draft, errors = cleaner.clean(raw)
    warnings.extend(FieldError(f"traits.{e.field}", e.message) for e in errors)
    if full_name and not draft.fields.get("first_name") and not draft.fields.get("last_name"):
        _set_name(draft, full_name)
    contact = _contact_of_user(session, user_id) if user_id else None
    contact = _claim_by_keys(session, contact, user_id, draft, warnings)
    if contact is None:
        if user_id is None and not (draft.fields.get("email") or draft.fields.get("phone")):
            return None
        contact = _create(session, ctx, user_id, draft)
    else:
        _apply(contact, user_id, draft, ctx)
    if contact.company_id is None:
        contact.company_id = _company_for(session, ctx, contact.email, draft.company_name)
    session.flush()
    return contact.id


def join(session: Session, profiles: Profiles, anonymous_id: str, contact_id: int) -> bool:
    """Joins a visitor's anonymous history to a contact; False when it was joined already."""
    if profiles.contact_of.get(anonymous_id) is not None:
        return False
    session.execute(
        update(AnonymousProfile)
        .where(AnonymousProfile.anonymous_id == anonymous_id, AnonymousProfile.contact_id.is_(None))
        .values(contact_id=contact_id)
    )
    session.execute(
        update(Event)
        .where(Event.anonymous_id == anonymous_id, Event.contact_id.is_(None))
        .values(contact_id=contact_id)
    )
    session.execute(
        update(Order)
        .where(Order.anonymous_id == anonymous_id, Order.contact_id.is_(None))
        .values(contact_id=contact_id)
    )
    first, last = session.execute(
        select(AnonymousProfile.first_touch, AnonymousProfile.last_touch).where(
            AnonymousProfile.anonymous_id == anonymous_id
        )
    ).one()
    if first or last:
        contact = session.get(Contact, contact_id)
        if contact is not None:
            contact.first_touch = earlier(contact.first_touch, first)
            contact.last_touch = later(contact.last_touch, last)
    profiles.contact_of[anonymous_id] = contact_id
    return True


def _contact_of_user(session: Session, user_id: str) -> Contact | None:
    contact_id = contacts_of_users(session, [user_id]).get(user_id)
    return session.get(Contact, contact_id) if contact_id is not None else None


def _claim_by_keys(
    session: Session,
    contact: Contact | None,
    user_id: str | None,
    draft: ContactDraft,
    warnings: list[FieldError],
) -> Contact | None:
    for key in ("email", "phone"):
        value = draft.fields.get(key)
        holder_id = find_by_key(session, key, value) if value else None
        if holder_id is None or (contact is not None and holder_id == contact.id):
            continue
        holder = session.get(Contact, holder_id)
        if contact is None and holder is not None and (user_id is None or holder.user_id in (None, user_id)):
            contact = holder
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
