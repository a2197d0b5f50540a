"""Finding the contact, user or company a person names on the command line: by id, email or domain."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.auth.models import User
from funnelwise.contacts.identity import find_by_key, resolve_contact_id
from funnelwise.contacts.models import Company
from funnelwise.contacts.normalize import normalize_domain, normalize_email
from funnelwise.errors import NotFound


def contact_id_named(session: Session, key: str) -> int:
    """A contact by id or email."""
    found = resolve_contact_id(session, int(key)) if key.isdigit() else None
    if found is None and "@" in key:
        try:
            found = find_by_key(session, "email", normalize_email(key))
        except ValueError:
            found = None
    if found is None:
        raise NotFound("contact", key)
    return found


def user_id_named(session: Session, key: str) -> int:
    """A team member by id or email."""
    if key.isdigit() and session.get(User, int(key)) is not None:
        return int(key)
    found = session.scalar(select(User.id).where(User.email == key.strip().lower()))
    if found is None:
        raise NotFound("user", key)
    return found


def company_id_named(session: Session, key: str) -> int:
    """A company by id, domain or exact name."""
    if key.isdigit() and session.get(Company, int(key)) is not None:
        return int(key)
    try:
        domain = normalize_domain(key)
    except ValueError:
        domain = None
    found = session.scalar(select(Company.id).where(Company.domain == domain)) if domain else None
    if found is None:
        found = session.scalar(select(Company.id).where(Company.name == key).order_by(Company.id).limit(1))
    if found is None:
        raise NotFound("company", key)
    return found
