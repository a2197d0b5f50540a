"""Push tokens the provider says are gone, dropped from their contacts so nobody sends to them again."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.db.dialect import one_of

PROPERTY = "push_token"


def drop_push_tokens(session: Session, ctx: Context, gone: Sequence[tuple[int, str]]) -> list[int]:
    """Removes each (contact id, token) where the contact still holds that token; the contacts changed.

    A contact whose app registered a new token since the send keeps the new one.
    """
    tokens = dict(gone)
    if not tokens:
        return []
    now = ctx.clock.now()
    changed = []
    contacts = session.scalars(select(Contact).where(one_of(session, Contact.id, sorted(tokens))))
    for contact in contacts:
        properties = contact.properties or {}
        if properties.get(PROPERTY) == tokens[contact.id]:
            contact.properties = {k: v for k, v in properties.items() if k != PROPERTY}
            contact.updated_at = now
            changed.append(contact.id)
    session.flush()
    return changed
