"""Contacts: create, read, update, delete and search, one at a time."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.contacts.changes import log_property_changes, snapshot
from funnelwise.contacts.companies import company_ids_by_domain, company_ids_by_name
from funnelwise.contacts.fields import ContactCleaner, ContactDraft
from funnelwise.contacts.identity import KEY_FIELDS, find_by_key, resolve_contact_id
from funnelwise.contacts.models import Company, Contact
from funnelwise.contacts.normalize import email_domain, is_free_mail, normalize_email, normalize_phone
from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.contacts.property_definitions import load_coercer
from funnelwise.contacts.schemas import ContactIn, ContactOut, Page
from funnelwise.context import Context
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from funnelwise.reactions.queue import mark_due
from funnelwise.sales.lifecycle import record_set_stages

# Where a stage set through these functions comes from, in the stage history (see sales.lifecycle).
API = "api"


@dataclass(frozen=True)
class ContactFilter:
    email: str | None = None
    phone: str | None = None
    user_id: str | None = None
    company_id: int | None = None
    owner_id: int | None = None
    lifecycle_stage: str | None = None
    job_level: str | None = None
    q: str | None = None
    updated_since: datetime | None = None
    properties: tuple[tuple[str, str], ...] = ()


def make_cleaner(session: Session, ctx: Context) -> ContactCleaner:
    return ContactCleaner(load_coercer(session, ctx, ObjectType.CONTACT), ctx.settings.default_region)


def create_contact(session: Session, ctx: Context, data: ContactIn) -> ContactOut:
    draft = _clean(session, ctx, data.model_dump(exclude_unset=True))
    fields = draft.fields
    for field in KEY_FIELDS:
        if fields.get(field) and (existing := find_by_key(session, field, fields[field])) is not None:
            raise Conflict(field, f"{fields[field]!r} belongs to contact {existing} already", existing)
    if fields.get("company_id") is None:
        fields["company_id"] = auto_company_id(session, ctx, fields.get("email"))
    now = ctx.clock.now()
    properties = {k: v for k, v in draft.properties.items() if v is not None}
    contact = Contact(**fields, properties=properties, created_at=now, updated_at=now)
    _write_or_conflict(session, lambda: session.add(contact), fields)
    record_set_stages(session, ctx, [(contact.id, None, contact.lifecycle_stage)], API)
    mark_due(session, ctx, [contact.id])
    return ContactOut.model_validate(contact)


def get_contact(session: Session, contact_id: int) -> ContactOut:
    return ContactOut.model_validate(load_contact(session, contact_id))


def update_contact(session: Session, ctx: Context, contact_id: int, data: ContactIn) -> ContactOut:
    """Sets the fields the input names; null clears a field or removes a property.

    A stage given is a deliberate move, forward or back, recorded in the stage history.
    """
    contact = load_contact(session, contact_id)
    draft = _clean(session, ctx, data.model_dump(exclude_unset=True))
    fields = draft.fields
    if "lifecycle_stage" in fields:
        # Held from reading the stage it leaves to writing the new one, as sales.lifecycle does.
        session.refresh(contact, with_for_update=True)
    stage_before = contact.lifecycle_stage
    for field in KEY_FIELDS:
        value = fields.get(field)
        if value and value != getattr(contact, field):
            existing = find_by_key(session, field, value)
            if existing is not None and existing != contact.id:
                raise Conflict(field, f"{value!r} belongs to contact {existing} already", existing)
    if "email" in fields and contact.company_id is None and "company_id" not in fields:
        fields["company_id"] = auto_company_id(session, ctx, fields["email"])
    before = _values(contact, fields, draft.properties)

    def write() -> None:
        for name, value in fields.items():
            setattr(contact, name, value)
        if draft.properties:
            merged = {**contact.properties, **draft.properties}
            contact.properties = {k: v for k, v in merged.items() if v is not None}
        contact.updated_at = ctx.clock.now()

    _write_or_conflict(session, write, fields)
    record_set_stages(session, ctx, [(contact.id, stage_before, contact.lifecycle_stage)], API)
    log_property_changes(
        session, contact.id, before, _values(contact, fields, draft.properties), contact.updated_at
    )
    mark_due(session, ctx, [contact.id])
    return ContactOut.model_validate(contact)


def _values(contact: Contact, fields: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The contact's current values of the fields and custom properties an update names."""
    return snapshot(
        {name: getattr(contact, name) for name in fields},
        {name: contact.properties.get(name) for name in properties},
    )


def delete_contact(session: Session, contact_id: int) -> None:
    session.delete(load_contact(session, contact_id))
    session.flush()


def list_contacts(
    session: Session, ctx: Context, filters: ContactFilter, *, cursor: str | None = None, limit: int = 100
) -> Page[ContactOut]:
    query = filtered_query(session, ctx, filters).order_by(Contact.id).limit(limit + 1)
    if cursor:
        query = query.where(Contact.id > decode_cursor(cursor))
    rows = list(session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(results=[ContactOut.model_validate(r) for r in rows[:limit]], next_cursor=next_cursor)


def load_contact(session: Session, contact_id: int) -> Contact:
    """The contact, following the id of one merged into another."""
    resolved = resolve_contact_id(session, contact_id)
    contact = session.get(Contact, resolved) if resolved is not None else None
    if contact is None:
        raise NotFound("contact", contact_id)
    return contact


def auto_company_id(session: Session, ctx: Context, email: str | None) -> int | None:
    """The company of a business email's domain (created if new); None for free-mail addresses."""
    if not email or not ctx.settings.auto_create_companies:
        return None
    domain = email_domain(email)
    if is_free_mail(domain):
        return None
    return company_ids_by_domain(session, ctx, {domain: domain})[domain]


def resolve_company_names(session: Session, ctx: Context, drafts: list[ContactDraft]) -> None:
    """Links drafts that name a company: by their email's business domain, else by the name."""
    by_domain: dict[str, str] = {}
    by_name: set[str] = set()
    for draft in drafts:
        if draft.company_name is None or draft.fields.get("company_id") is not None:
            continue
        domain = email_domain(draft.fields["email"]) if draft.fields.get("email") else None
        if domain and not is_free_mail(domain):
            by_domain.setdefault(domain, draft.company_name)
        else:
            by_name.add(draft.company_name)
    domain_ids = company_ids_by_domain(session, ctx, by_domain)
    name_ids = company_ids_by_name(session, ctx, by_name)
    for draft in drafts:
        if draft.company_name is None or draft.fields.get("company_id") is not None:
            continue
        domain = email_domain(draft.fields["email"]) if draft.fields.get("email") else None
        company_id = domain_ids.get(domain) if domain else None
        draft.fields["company_id"] = company_id or name_ids[draft.company_name]


def check_references(session: Session, fields: dict[str, Any]) -> list[FieldError]:
    errors = []
    if fields.get("owner_id") is not None and session.get(User, fields["owner_id"]) is None:
        errors.append(FieldError("owner_id", f"no user with id {fields['owner_id']}"))
    if fields.get("company_id") is not None and session.get(Company, fields["company_id"]) is None:
        errors.append(FieldError("company_id", f"no company with id {fields['company_id']}"))
    return errors


def _clean(session: Session, ctx: Context, raw: dict[str, Any]) -> ContactDraft:
    draft, errors = make_cleaner(session, ctx).clean(raw)
    errors.extend(check_references(session, draft.fields))
    if errors:
        raise InvalidInput(errors)
    return draft


def _write_or_conflict(session: Session, write: Callable[[], None], fields: dict[str, Any]) -> None:
    """Writes; a unique key taken meanwhile by a concurrent write becomes a Conflict."""
    if not write_or_undo(session, write):
        for field in KEY_FIELDS:
            if fields.get(field) and (existing := find_by_key(session, field, fields[field])) is not None:
                raise Conflict(field, f"{fields[field]!r} belongs to contact {existing} already", existing)
        raise Conflict("contact", "a concurrent write changed this contact; retry")


def filtered_query(session: Session, ctx: Context, filters: ContactFilter) -> Select[tuple[Contact]]:
    query = select(Contact)
    if filters.email:
        query = query.where(Contact.email == _normalized("email", normalize_email, filters.email))
    if filters.phone:
        region = ctx.settings.default_region
        query = query.where(Contact.phone == _normalized("phone", normalize_phone, filters.phone, region))
    for name in ("user_id", "company_id", "owner_id", "lifecycle_stage", "job_level"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Contact, name) == value)
    if filters.q:
        text = filters.q.lower()
        query = query.where(
            or_(
                Contact.email.contains(text, autoescape=True),
                func.lower(Contact.first_name).contains(text, autoescape=True),
                func.lower(Contact.last_name).contains(text, autoescape=True),
            )
        )
    if filters.updated_since:
        query = query.where(Contact.updated_at >= filters.updated_since)
    return _with_property_filters(session, ctx, query, filters.properties)


def _normalized(field: str, normalize: Callable[..., str], *args: str) -> str:
    try:
        return normalize(*args)
    except ValueError as exc:
        raise InvalidInput.single(field, str(exc)) from None


def _with_property_filters(
    session: Session, ctx: Context, query: Select[tuple[Contact]], wanted: tuple[tuple[str, str], ...]
) -> Select[tuple[Contact]]:
    if not wanted:
        return query
    coercer = load_coercer(session, ctx, ObjectType.CONTACT)
    cleaned, errors = coercer.clean(dict(wanted), from_text=True)
    if errors:
        raise InvalidInput(errors)
    for name, value in cleaned.items():
        element = Contact.properties[name]
        kind = coercer.specs[name].type
        if value is None:
            query = query.where(element.as_string().is_(None))
        elif kind is PropertyType.NUMBER:
            query = query.where(element.as_float() == value)
        elif kind is PropertyType.BOOLEAN:
            query = query.where(element.as_boolean() == value)
        elif kind is PropertyType.MULTI_ENUM:
            raise InvalidInput.single(f"properties.{name}", "multi_enum properties are filtered in segments")
        else:
            query = query.where(element.as_string() == value)
    return query
