"""Test populations: contacts, companies, events and consents as plain data, stored by raw inserts.

The agreement tests evaluate these same Python values in memory and the stored rows in SQL, so a
difference between the two evaluators cannot hide behind a loader.
"""

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.orm import Session

from funnelwise.conditions import ConsentFact, EventFact, Facts
from funnelwise.contacts.models import Company, Contact
from funnelwise.messaging.models import Consent
from funnelwise.tracking.models import Event
from tests.conftest import START

SEOUL = ZoneInfo("Asia/Seoul")
TODAY = START.astimezone(SEOUL).date()
_numbers = itertools.count(1)


def day_start(day: date, tz: ZoneInfo = SEOUL) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC)


# Moments on and around the day boundaries that "within the last N days" turns on.
MOMENTS = [
    day_start(TODAY - timedelta(days=days)) + offset
    for days in (-1, 0, 1, 2, 7, 29, 30, 31, 89, 90, 91, 365)
    for offset in (timedelta(seconds=-1), timedelta(0), timedelta(seconds=1, microseconds=500_000))
] + [START, START - timedelta(hours=11), datetime(2025, 11, 22, 3, tzinfo=UTC)]
TEXTS = ["pro", "Pro", "PRO", "basic", "", "é", "É", "프로", "pro plan", "50%_off", "x' OR '1'='1"]
NEEDLES = ["pro", "PR", "", "é", "프", "o p", "%", "_", "'"]
NUMBERS: list[int | float] = [0, 1, 2, 3, 10, 299_999, 300_000, 0.5, 1.0, 2.5, -0.5]
DATES = [(TODAY - timedelta(days=days)).isoformat() for days in (-3, 0, 1, 7, 29, 30, 31, 90, 91, 400)] + [
    "1990-11-22",
    "1992-02-29",
    "1990-02-28",
    "2026-11-21",
]
DATE_TIMES = [
    moment.strftime("%Y-%m-%dT%H:%M:%S") + suffix for moment in MOMENTS[::2] for suffix in ("Z", ".5Z")
]
STAGES = ["lead", "mql", "customer", "Customer", None]
SIZE_BANDS = ["1-10", "51-200", "201-500", None]
EVENT_NAMES = ["Page Viewed", "Order Completed", "Email Opened"]
EVENT_KEYS = ["revenue", "path", "sku"]
PROPERTY_KEYS = ["plan", "ltv", "vip", "birthday", "renewal_at", "tags"]


@dataclass
class CompanyData:
    fields: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class PersonData:
    fields: dict[str, Any]
    properties: dict[str, Any] = field(default_factory=dict)
    company: int | None = None
    events: list[tuple[str, dict[str, Any], datetime]] = field(default_factory=list)
    consents: list[tuple[str, str, str]] = field(default_factory=list)


def crowd(size: int, seed: int = 7) -> tuple[list[CompanyData], list[PersonData]]:
    """A seeded population drawn from the same pools as the hypothesis strategies."""
    rng = random.Random(seed)
    values: list[Any] = [
        *TEXTS,
        *NUMBERS,
        True,
        False,
        *DATES,
        *DATE_TIMES,
        ["pro", "Basic"],
        ["PRO"],
        [],
        None,
    ]

    def properties(keys: list[str]) -> dict[str, Any]:
        return {key: rng.choice(values) for key in keys if rng.random() < 0.8}

    companies = [
        CompanyData(
            {"size_band": rng.choice(SIZE_BANDS), "industry": rng.choice(["SaaS", "saas", None])},
            properties(["tier", "plan"]),
        )
        for _ in range(3)
    ]
    people = [
        PersonData(
            fields={
                "first_name": rng.choice([*TEXTS[:5], None]),
                "lifecycle_stage": rng.choice(STAGES),
                "created_at": rng.choice(MOMENTS),
            },
            properties=properties(PROPERTY_KEYS),
            company=rng.choice([None, 0, 1, 2]),
            events=[
                (rng.choice(EVENT_NAMES), properties(EVENT_KEYS), rng.choice(MOMENTS))
                for _ in range(rng.randint(0, 6))
            ],
            consents=[("email", "newsletter", rng.choice(["granted", "pending", "revoked"]))]
            if rng.random() < 0.5
            else [],
        )
        for _ in range(size)
    ]
    return companies, people


def store(session: Session, companies: list[CompanyData], people: list[PersonData]) -> list[Facts]:
    """Inserts the population and returns each person's facts, built from the same Python values."""
    company_ids = [_insert_company(session, company) for company in companies]
    facts = []
    for person in people:
        company_id = company_ids[person.company] if person.company is not None else None
        contact_id = _insert_contact(session, person, company_id)
        facts.append(_facts(person, contact_id, company_id, companies))
    return facts


def _insert_company(session: Session, company: CompanyData) -> int:
    row = {"name": "Company", **company.fields, "properties": company.properties}
    return session.execute(
        insert(Company).values(**row, created_at=START, updated_at=START).returning(Company.id)
    ).scalar_one()


def _insert_contact(session: Session, person: PersonData, company_id: int | None) -> int:
    row = {"updated_at": START, **person.fields, "company_id": company_id, "properties": person.properties}
    contact_id = session.execute(insert(Contact).values(**row).returning(Contact.id)).scalar_one()
    for name, properties, occurred_at in person.events:
        session.execute(
            insert(Event).values(
                message_id=f"test-{next(_numbers)}",
                contact_id=contact_id,
                type="track",
                name=name,
                properties=properties,
                context={},
                occurred_at=occurred_at,
                received_at=occurred_at,
            )
        )
    for channel, topic, status in person.consents:
        session.execute(
            insert(Consent).values(
                contact_id=contact_id,
                channel=channel,
                topic=topic,
                status=status,
                wording="동의합니다",
                version="v1",
                source="test",
                recorded_at=START,
            )
        )
    return contact_id


def _facts(
    person: PersonData, contact_id: int, company_id: int | None, companies: list[CompanyData]
) -> Facts:
    company = None
    if person.company is not None:
        chosen = companies[person.company]
        company = {"id": company_id, **chosen.fields, "properties": chosen.properties}
    return Facts(
        contact={
            "id": contact_id,
            **person.fields,
            "company_id": company_id,
            "properties": person.properties,
        },
        company=company,
        events=[EventFact(name, properties, occurred_at) for name, properties, occurred_at in person.events],
        consents=[ConsentFact(*consent) for consent in person.consents],
    )
