"""What the in-memory evaluator knows about one contact, and loading it from the database."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.conditions.columns import COMPANY_COLUMNS, CONTACT_COLUMNS
from funnelwise.contacts.models import Company, Contact
from funnelwise.messaging.models import Consent
from funnelwise.tracking.models import Event


@dataclass(frozen=True)
class EventFact:
    name: str
    properties: Mapping[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class ConsentFact:
    channel: str
    topic: str
    status: str


@dataclass(frozen=True)
class Facts:
    """One contact's profile, company, events and consents.

    `contact` and `company` hold the built-in fields by name (and `id`) and the custom properties
    under `properties`; `extra` holds what registered leaves read (list or segment memberships).
    """

    contact: Mapping[str, Any]
    company: Mapping[str, Any] | None = None
    events: Sequence[EventFact] = ()
    consents: Sequence[ConsentFact] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


def load_facts(session: Session, contact_id: int, event_names: Iterable[str] | None = None) -> Facts:
    """The facts of one contact; only events of the given names when they are given."""
    contact = session.get_one(Contact, contact_id)
    company = session.get(Company, contact.company_id) if contact.company_id is not None else None
    return contact_facts(session, contact, company, event_names)


def contact_facts(
    session: Session,
    contact: Contact,
    company: Company | None,
    event_names: Iterable[str] | None = None,
    *,
    consents: bool = True,
) -> Facts:
    """The facts of a contact loaded already with its company; `consents=False` leaves them out."""
    events = select(Event.name, Event.properties, Event.occurred_at).where(Event.contact_id == contact.id)
    if event_names is not None:
        events = events.where(Event.name.in_(sorted(set(event_names))))
    return Facts(
        contact=_fields(contact, ("id", *CONTACT_COLUMNS)),
        company=_fields(company, ("id", *COMPANY_COLUMNS)) if company is not None else None,
        events=[EventFact(*row) for row in session.execute(events.order_by(Event.occurred_at, Event.id))],
        consents=_consents(session, contact.id) if consents else (),
    )


def _consents(session: Session, contact_id: int) -> list[ConsentFact]:
    query = select(Consent.channel, Consent.topic, Consent.status).where(Consent.contact_id == contact_id)
    return [ConsentFact(*row) for row in session.execute(query)]


def _fields(row: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names} | {"properties": dict(row.properties or {})}
