"""Merging two records of one person into one, keeping the history and properties of both."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from funnelwise.contacts.belongings import move_belongings
from funnelwise.contacts.fields import CONTACT_FIELDS
from funnelwise.contacts.identity import KEY_FIELDS, MERGED_CONTACT
from funnelwise.contacts.models import Contact, ContactIdentity
from funnelwise.contacts.schemas import ContactOut
from funnelwise.contacts.service import load_contact
from funnelwise.context import Context
from funnelwise.errors import InvalidInput
from funnelwise.tracking.attribution import earlier, later
from funnelwise.tracking.log import reassign_events, record_event

CONTACTS_MERGED = "Contacts Merged"


def merge_contacts(session: Session, ctx: Context, keep_id: int, merge_id: int) -> ContactOut:
    """Folds contact `merge_id` into `keep_id`.

    The kept contact's values win; empty fields take the other's values; the other's email,
    phone and user id that could not move stay as further keys of the kept contact, so it is
    still found by them. Its events move over, and with them its consents, messages, journeys,
    list memberships, tasks, deals and form submissions; its id keeps resolving to the kept contact.
    """
    keep, gone = load_contact(session, keep_id), load_contact(session, merge_id)
    if keep.id == gone.id:
        raise InvalidInput.single("merge_id", "a contact cannot be merged into itself")
    now = ctx.clock.now()
    overridden = _overridden(keep, gone)
    moved_keys = {f: getattr(gone, f) for f in KEY_FIELDS if getattr(gone, f) and not getattr(keep, f)}
    kept_keys = {f: getattr(gone, f) for f in KEY_FIELDS if getattr(gone, f) and getattr(keep, f)}
    filled = {f: getattr(gone, f) for f in CONTACT_FIELDS if getattr(keep, f) is None and f not in KEY_FIELDS}
    session.execute(
        update(ContactIdentity).where(ContactIdentity.contact_id == gone.id).values(contact_id=keep.id)
    )
    moved_events = reassign_events(session, gone.id, keep.id)
    move_belongings(session, gone.id, keep.id, now)
    for field in KEY_FIELDS:
        setattr(gone, field, None)  # frees the unique keys before the kept contact takes them
    session.flush()
    for field, value in {**moved_keys, **filled}.items():
        setattr(keep, field, value)
    keep.properties = {**gone.properties, **keep.properties}
    keep.first_touch = earlier(keep.first_touch, gone.first_touch)
    keep.last_touch = later(keep.last_touch, gone.last_touch)
    keep.created_at = min(keep.created_at, gone.created_at)
    keep.updated_at = now
    identities = [(MERGED_CONTACT, str(gone.id)), *kept_keys.items()]
    session.add_all(
        ContactIdentity(contact_id=keep.id, kind=k, value=v, created_at=now) for k, v in identities
    )
    session.delete(gone)
    record_event(
        session,
        ctx,
        keep.id,
        CONTACTS_MERGED,
        {"merged_contact_id": gone.id, "overridden": overridden, "moved_events": moved_events},
    )
    session.flush()
    return ContactOut.model_validate(keep)


def _overridden(keep: Contact, gone: Contact) -> dict[str, Any]:
    """The other contact's values that lost to the kept one's, recorded on the merge event."""
    lost: dict[str, Any] = {}
    for field in CONTACT_FIELDS:
        mine, theirs = getattr(keep, field), getattr(gone, field)
        if mine is not None and theirs is not None and mine != theirs:
            lost[field] = theirs
    for name, theirs in gone.properties.items():
        if name in keep.properties and keep.properties[name] != theirs:
            lost[f"properties.{name}"] = theirs
    return lost
