"""Finding contacts by the keys people know them by, including keys merged into another contact."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.contacts.models import Contact, ContactIdentity
from funnelwise.db.dialect import one_of

MERGED_CONTACT = "merged_contact"
KEY_FIELDS = ("email", "phone", "user_id")


def resolve_contact_id(session: Session, contact_id: int) -> int | None:
    """The id itself, or the contact it was merged into, or None."""
    if session.get(Contact, contact_id) is not None:
        return contact_id
    return session.scalar(
        select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == MERGED_CONTACT, ContactIdentity.value == str(contact_id)
        )
    )


def find_by_key(session: Session, field: str, value: str) -> int | None:
    """The contact whose email, phone or user id is `value`, as its own or a merged one."""
    column = getattr(Contact, field)
    found = session.scalar(select(Contact.id).where(column == value))
    if found is not None:
        return found
    return session.scalar(
        select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == field, ContactIdentity.value == value
        )
    )


def find_many_by_identity(session: Session, field: str, values: list[str]) -> dict[str, int]:
    """For a batch: which of `values` are a merged-away key of some contact."""
    if not values:
        return {}
    rows = session.execute(
        select(ContactIdentity.value, ContactIdentity.contact_id).where(
            ContactIdentity.kind == field, one_of(session, ContactIdentity.value, values)
        )
    )
    return dict(rows.all())
