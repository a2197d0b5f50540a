"""What the in-memory evaluator knows about one contact, and loading it from the database."""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Select, String, Table, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from funnelwise.conditions.columns import COMPANY_COLUMNS, CONTACT_COLUMNS
from funnelwise.contacts.models import Company, Contact
from funnelwise.db.dialect import one_of
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


# Several contacts at once, for callers that read the contact and company rows themselves (in a
# statement of their own) and want the rest in one statement each, not one per contact.

_contacts: Table = Contact.__table__  # type: ignore[assignment]
_companies: Table = Company.__table__  # type: ignore[assignment]
CONTACT_FACT_COLUMNS = tuple(_contacts.c[name] for name in ("id", *CONTACT_COLUMNS, "properties"))
COMPANY_FACT_COLUMNS = tuple(_companies.c[name] for name in ("id", *COMPANY_COLUMNS, "properties"))


def row_facts(
    contact: Mapping[str, Any],
    company: Mapping[str, Any] | None,
    events: Sequence[EventFact] = (),
    consents: Sequence[ConsentFact] = (),
    extra: Mapping[str, Any] | None = None,
) -> Facts:
    """Facts from rows holding the columns of `CONTACT_FACT_COLUMNS` and `COMPANY_FACT_COLUMNS`.

    The same facts `contact_facts` builds from the ORM objects.
    """
    return Facts(
        contact=_fields_of(contact, ("id", *CONTACT_COLUMNS)),
        company=_fields_of(company, ("id", *COMPANY_COLUMNS)) if company is not None else None,
        events=events,
        consents=consents,
        extra=extra or {},
    )


def events_by_contact(
    session: Session, contact_ids: Sequence[int], event_names: Iterable[str]
) -> dict[int, list[EventFact]]:
    """The events of these names of each contact, in the order they happened, in one statement."""
    names = sorted(set(event_names))
    found: defaultdict[int, list[EventFact]] = defaultdict(list)
    if not names or not contact_ids:
        return found
    statement = _events_of(session.get_bind().dialect.name)
    session.flush()  # as a query through the session would: rows added through the ORM count
    for contact_id, *event in session.connection().execute(statement, {"ids": contact_ids, "names": names}):
        found[contact_id].append(EventFact(*event))
    return found


@lru_cache(maxsize=4)
def _events_of(dialect: str) -> Select[Any]:
    """The statement of `events_by_contact`, built once per database: `:ids` and `:names` bound."""
    if dialect == "postgresql":
        # One array parameter each, as `one_of` binds them: a short statement, prepared once.
        ids = Event.contact_id == any_(bindparam("ids", type_=postgresql.ARRAY(BigInteger)))
        names = Event.name == any_(bindparam("names", type_=postgresql.ARRAY(String)))
    else:
        ids = Event.contact_id.in_(bindparam("ids", expanding=True))
        names = Event.name.in_(bindparam("names", expanding=True))
    return (
        select(Event.contact_id, Event.name, Event.properties, Event.occurred_at)
        .where(ids, names)
        .order_by(Event.contact_id, Event.occurred_at, Event.id)
    )


def consents_by_contact(session: Session, contact_ids: Sequence[int]) -> dict[int, list[ConsentFact]]:
    """Each contact's consents, in one statement."""
    found: defaultdict[int, list[ConsentFact]] = defaultdict(list)
    query = select(Consent.contact_id, Consent.channel, Consent.topic, Consent.status).where(
        one_of(session, Consent.contact_id, contact_ids)
    )
    session.flush()
    for contact_id, *consent in session.connection().execute(query):
        found[contact_id].append(ConsentFact(*consent))
    return found


def _fields_of(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: values[name] for name in names} | {"properties": dict(values["properties"] or {})}
