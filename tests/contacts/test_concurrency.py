"""Several API workers write the same person at the same moment: the database keeps one contact."""

import random
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.contacts.bulk import DedupeKey, Outcome, RowResult, UpdatePolicy, upsert_raw
from funnelwise.contacts.models import Company, Contact
from funnelwise.contacts.schemas import ContactIn, ContactOut
from funnelwise.contacts.service import create_contact
from funnelwise.context import Context
from funnelwise.errors import Conflict

WORKERS = 8
T = TypeVar("T")


def _race(sessions: sessionmaker[Session], work: Callable[[Session, int], T]) -> list[T | BaseException]:
    """Runs `work` in WORKERS threads released together, each in its own session that commits."""
    barrier = threading.Barrier(WORKERS)
    outcomes: list[T | BaseException] = [RuntimeError("did not finish")] * WORKERS

    def run(number: int) -> None:
        try:
            with sessions() as session:
                barrier.wait(timeout=10)
                outcomes[number] = work(session, number)
                session.commit()
        except BaseException as exc:
            outcomes[number] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    return outcomes


def _ids_with_email(sessions: sessionmaker[Session], email: str) -> list[int]:
    with sessions() as session:
        return list(session.scalars(select(Contact.id).where(Contact.email == email)))


def _count(sessions: sessionmaker[Session], model: type[Contact] | type[Company]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# A business address also races to create its company; a free-mail one races on the contact alone.
EMAILS = pytest.mark.parametrize("email", ["race@acme.co.kr", "race@gmail.com"])


@EMAILS
def test_concurrent_upserts_of_one_email_make_one_contact(
    sessions: sessionmaker[Session], ctx: Context, email: str
) -> None:
    def upsert(session: Session, number: int) -> list[RowResult]:
        return upsert_raw(session, ctx, [{"email": email.upper()}], DedupeKey.EMAIL, UpdatePolicy.OVERWRITE)

    outcomes = _race(sessions, upsert)

    [contact_id] = _ids_with_email(sessions, email)
    assert [type(o) for o in outcomes] == [list] * WORKERS, outcomes
    results = [r for o in outcomes if isinstance(o, list) for r in o]
    assert sorted(r.outcome for r in results) == sorted(
        [Outcome.CREATED] + [Outcome.UNCHANGED] * (WORKERS - 1)
    )
    assert {r.contact_id for r in results} == {contact_id}
    assert _count(sessions, Company) == (0 if email.endswith("gmail.com") else 1)


@EMAILS
def test_concurrent_upserts_with_different_names_make_one_contact_created_once(
    sessions: sessionmaker[Session], ctx: Context, email: str
) -> None:
    def upsert(session: Session, number: int) -> list[RowResult]:
        item = {"email": email, "first_name": f"Writer {number}"}
        return upsert_raw(session, ctx, [item], DedupeKey.EMAIL, UpdatePolicy.OVERWRITE)

    outcomes = _race(sessions, upsert)

    [contact_id] = _ids_with_email(sessions, email)
    results = [r for o in outcomes if isinstance(o, list) for r in o]
    assert len(results) == WORKERS, outcomes
    assert {r.contact_id for r in results} == {contact_id}
    assert sorted(r.outcome for r in results) == sorted([Outcome.CREATED] + [Outcome.UPDATED] * (WORKERS - 1))


@EMAILS
def test_concurrent_creates_of_one_email_make_one_contact_and_conflicts(
    sessions: sessionmaker[Session], ctx: Context, email: str
) -> None:
    def create(session: Session, number: int) -> ContactOut:
        return create_contact(session, ctx, ContactIn(email=email, first_name=f"Writer {number}"))

    outcomes = _race(sessions, create)

    [contact_id] = _ids_with_email(sessions, email)
    created = [o for o in outcomes if isinstance(o, ContactOut)]
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert [c.id for c in created] == [contact_id], outcomes
    assert len(conflicts) == WORKERS - 1, outcomes
    assert {(c.field, c.existing_id) for c in conflicts} == {("email", contact_id)}


def test_concurrent_creates_of_one_phone_in_different_formats_make_one_contact(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    formats = ["010-1234-5678", "01012345678", "+82 10 1234 5678", "010.1234.5678"]

    def create(session: Session, number: int) -> ContactOut:
        return create_contact(session, ctx, ContactIn(phone=formats[number % len(formats)]))

    outcomes = _race(sessions, create)

    assert len([o for o in outcomes if isinstance(o, ContactOut)]) == 1, outcomes
    assert len([o for o in outcomes if isinstance(o, Conflict) and o.field == "phone"]) == WORKERS - 1, (
        outcomes
    )
    assert _count(sessions, Contact) == 1


def test_overlapping_batches_in_different_orders_finish_and_store_each_email_once(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    emails = [f"person{n}@company{n % 5}.co.kr" for n in range(40)]

    def upsert(session: Session, number: int) -> list[RowResult]:
        mine = random.Random(number).sample(emails, 30)
        items = [{"email": email, "first_name": f"Writer {number}"} for email in mine]
        return upsert_raw(session, ctx, items, DedupeKey.EMAIL, UpdatePolicy.OVERWRITE)

    outcomes = _race(sessions, upsert)

    results = [r for o in outcomes if isinstance(o, list) for r in o]
    assert len(results) == WORKERS * 30, [o for o in outcomes if not isinstance(o, list)]
    assert all(r.outcome is not Outcome.FAILED and r.contact_id is not None for r in results)
    with sessions() as session:
        stored = sorted(session.scalars(select(Contact.email)))
    assert stored == sorted(
        e for e in emails if any(e in random.Random(n).sample(emails, 30) for n in range(8))
    )
    assert _count(sessions, Company) == 5
