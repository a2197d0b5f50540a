"""Anonymous visitors become known contacts: their history follows them, whichever device or id they used."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.identity import resolve_contact_id
from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.tracking.models import AnonymousProfile, Event
from funnelwise.tracking.resolver import resolve_pending
from tests.factories import make_company, make_contact

Resolve = Callable[[], int]
Warnings = Callable[[], list[tuple[str, str, str]]]
Send = Callable[..., httpx.Response]
NAVER_AD = "https://acme.co.kr/?utm_source=naver&utm_medium=cpc&utm_campaign=winter"
NAVER = "https://search.naver.com/search.naver?query=crm"
_ids = iter(range(1, 1_000_000))


def message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "messageId": f"m-{next(_ids)}", **fields}


def page(anonymous_id: str, url: str, referrer: str | None = None, **fields: Any) -> dict[str, Any]:
    return message(
        "page", anonymousId=anonymous_id, context={"page": {"url": url, "referrer": referrer}}, **fields
    )


def events_of(sessions: sessionmaker[Session], **where: Any) -> list[Event]:
    with sessions() as session:
        query = select(Event).filter_by(**where).order_by(Event.id)
        return list(session.scalars(query))


def contacts(sessions: sessionmaker[Session]) -> list[Contact]:
    with sessions() as session:
        return list(session.scalars(select(Contact).order_by(Contact.id)))


def profile(sessions: sessionmaker[Session], anonymous_id: str) -> AnonymousProfile:
    with sessions() as session:
        return session.scalars(select(AnonymousProfile).filter_by(anonymous_id=anonymous_id)).one()


def test_a_visitors_anonymous_pages_join_the_contact_they_identify_as_keeping_the_first_touch(
    send: Send, sessions: sessionmaker[Session], clock: SimulatedClock
) -> None:
    landed_at = clock.now()
    send(page("anon-1", NAVER_AD, NAVER))
    clock.advance(timedelta(minutes=1))
    send(page("anon-1", "https://acme.co.kr/pricing", "https://acme.co.kr/"))
    assert [e.contact_id for e in events_of(sessions)] == [None, None]
    assert profile(sessions, "anon-1").first_touch == profile(sessions, "anon-1").last_touch

    clock.advance(timedelta(days=3))
    send(page("anon-1", "https://acme.co.kr/blog", "https://blog.naver.com/review"))
    send(message("identify", userId="u-1", anonymousId="anon-1", traits={"email": "kim@acme.co.kr"}))

    [contact] = contacts(sessions)
    assert [(e.name, e.contact_id) for e in events_of(sessions)] == [
        ("Page Viewed", contact.id),
        ("Page Viewed", contact.id),
        ("Page Viewed", contact.id),
        ("Identify", contact.id),
    ]
    assert contact.first_touch is not None and contact.last_touch is not None
    assert (
        contact.first_touch["channel"],
        contact.first_touch["utm_campaign"],
        contact.first_touch["at"],
    ) == (
        "paid_search",
        "winter",
        landed_at.isoformat(),
    )
    assert (contact.last_touch["channel"], contact.last_touch["landing_page"]) == (
        "social",
        "https://acme.co.kr/blog",
    )
    assert profile(sessions, "anon-1").contact_id == contact.id


def test_after_joining_the_visitors_later_anonymous_events_are_the_contacts(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(message("identify", userId="u-1", anonymousId="anon-1"))

    send(message("track", anonymousId="anon-1", event="Viewed Pricing"))

    [contact] = contacts(sessions)
    assert [(e.name, e.contact_id) for e in events_of(sessions)] == [
        ("Identify", contact.id),
        ("Viewed Pricing", contact.id),
    ]


def test_a_visitor_identified_later_in_the_same_batch_owns_its_earlier_events(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(
        page("anon-1", NAVER_AD, NAVER),
        message("track", userId="u-1", event="Signed Up"),
        message("identify", userId="u-1", anonymousId="anon-1", traits={"email": "kim@acme.co.kr"}),
    )

    [contact] = contacts(sessions)
    assert [e.contact_id for e in events_of(sessions)] == [contact.id] * 3
    assert contact.first_touch is not None
    assert contact.first_touch["channel"] == "paid_search"


def test_two_devices_of_one_person_join_one_contact_whose_first_touch_is_the_earliest(
    send: Send, sessions: sessionmaker[Session], clock: SimulatedClock
) -> None:
    send(page("phone", NAVER_AD, NAVER))
    clock.advance(timedelta(hours=5))
    send(page("laptop", "https://acme.co.kr/", "https://www.google.com/"))

    send(message("identify", userId="u-1", anonymousId="laptop"))
    send(message("identify", userId="u-1", anonymousId="phone"))

    [contact] = contacts(sessions)
    assert {e.anonymous_id: e.contact_id for e in events_of(sessions, type="page")} == {
        "phone": contact.id,
        "laptop": contact.id,
    }
    assert contact.first_touch is not None and contact.last_touch is not None
    assert (contact.first_touch["channel"], contact.last_touch["channel"]) == (
        "paid_search",
        "organic_search",
    )
    assert (profile(sessions, "phone").contact_id, profile(sessions, "laptop").contact_id) == (
        contact.id,
    ) * 2


def test_identify_by_email_without_a_user_id_finds_the_existing_contact(
    send: Send, session: Session, sessions: sessionmaker[Session], ctx: Context
) -> None:
    lead = make_contact(session, ctx, email="kim@acme.co.kr", first_name="민수")
    send(page("anon-1", NAVER_AD, NAVER))

    send(message("identify", anonymousId="anon-1", traits={"email": "KIM@acme.co.kr", "title": "과장"}))

    [contact] = contacts(sessions)
    assert (contact.id, contact.first_name, contact.job_title, contact.user_id) == (
        lead.id,
        "민수",
        "과장",
        None,
    )
    assert [e.contact_id for e in events_of(sessions)] == [lead.id, lead.id]


def test_a_user_first_seen_by_id_and_an_imported_lead_with_their_email_become_one_contact(
    send: Send, session: Session, sessions: sessionmaker[Session], ctx: Context
) -> None:
    lead = make_contact(session, ctx, email="kim@acme.co.kr", first_name="민수")
    send(message("track", userId="u-1", event="Signed Up"))
    stub = contacts(sessions)[-1]

    answer = send(message("identify", userId="u-1", traits={"email": "kim@acme.co.kr"}))

    assert answer.json() == {"success": True}
    [contact] = contacts(sessions)
    assert (contact.id, contact.user_id, contact.email, contact.first_name) == (
        stub.id,
        "u-1",
        "kim@acme.co.kr",
        "민수",
    )
    with sessions() as check:
        assert resolve_contact_id(check, lead.id) == stub.id
    assert [e.name for e in events_of(sessions, contact_id=stub.id)] == [
        "Signed Up",
        "Contacts Merged",
        "Identify",
    ]


def test_an_email_that_belongs_to_another_user_is_left_there_with_a_warning(
    send: Send, sessions: sessionmaker[Session], logged_warnings: Warnings
) -> None:
    send(message("identify", userId="u-1", traits={"email": "kim@acme.co.kr"}))
    owner = contacts(sessions)[0]

    answer = send(
        message(
            "identify",
            userId="u-2",
            traits={"email": "kim@acme.co.kr", "title": "대리"},
            messageId="identify-2",
        )
    )

    assert answer.json() == {"success": True}
    assert logged_warnings() == [
        ("identify-2", "traits.email", f"'kim@acme.co.kr' belongs to contact {owner.id}; left there")
    ]
    assert [(c.user_id, c.email, c.job_title) for c in contacts(sessions)] == [
        ("u-1", "kim@acme.co.kr", None),
        ("u-2", None, "대리"),
    ]


def test_alias_joins_an_anonymous_id_to_the_user(send: Send, sessions: sessionmaker[Session]) -> None:
    send(page("anon-1", NAVER_AD, NAVER))

    send(message("alias", previousId="anon-1", userId="u-1"))
    send(message("track", anonymousId="anon-1", event="Viewed Pricing"))

    [contact] = contacts(sessions)
    assert contact.user_id == "u-1"
    assert [(e.name, e.contact_id) for e in events_of(sessions)] == [
        ("Page Viewed", contact.id),
        ("Alias", contact.id),
        ("Viewed Pricing", contact.id),
    ]


def test_alias_of_an_old_user_id_to_a_new_one_renames_the_contact(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(message("identify", userId="old-id", traits={"email": "kim@acme.co.kr"}))
    [before] = contacts(sessions)

    send(
        message("alias", previousId="old-id", userId="new-id"),
        message("track", userId="old-id", event="Login"),
    )
    send(message("alias", previousId="old-id", userId="newer-id"))

    [after] = contacts(sessions)
    assert (after.id, after.user_id, after.email) == (before.id, "newer-id", "kim@acme.co.kr")
    assert {e.contact_id for e in events_of(sessions)} == {before.id}


def test_alias_of_two_known_users_merges_the_old_into_the_new_even_mid_batch(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(
        message("identify", userId="old-id", traits={"email": "kim@acme.co.kr", "title": "과장"}),
        message("identify", userId="new-id", traits={"phone": "010-1234-5678"}),
    )
    old, new = contacts(sessions)

    answer = send(
        message("track", userId="old-id", event="Before"),
        message("alias", previousId="old-id", userId="new-id"),
        message("track", userId="old-id", event="After"),
    )

    assert answer.json() == {"success": True}
    [contact] = contacts(sessions)
    assert (contact.id, contact.user_id, contact.email, contact.phone, contact.job_title) == (
        new.id,
        "new-id",
        "kim@acme.co.kr",
        "+821012345678",
        "과장",
    )
    assert [e.name for e in events_of(sessions, contact_id=new.id)] == [
        "Identify",
        "Identify",
        "Contacts Merged",  # written while the batch is resolved, before the batch's own events
        "Before",
        "Alias",
        "After",
    ]
    with sessions() as check:
        assert resolve_contact_id(check, old.id) == new.id


def test_joining_again_changes_nothing(send: Send, sessions: sessionmaker[Session]) -> None:
    identify = message("identify", userId="u-1", anonymousId="anon-1", traits={"email": "kim@acme.co.kr"})
    send(page("anon-1", NAVER_AD, NAVER), identify)
    [before] = contacts(sessions)

    send(identify)
    send({**identify, "messageId": "another"})
    send(message("alias", previousId="anon-1", userId="u-1"))

    [after] = contacts(sessions)
    assert (after.id, after.first_touch, after.updated_at) == (
        before.id,
        before.first_touch,
        before.updated_at,
    )
    assert [e.contact_id for e in events_of(sessions)] == [before.id] * 4


def test_an_anonymous_id_that_equals_the_user_id_is_the_same_person(
    send: Send, sessions: sessionmaker[Session]
) -> None:
    send(message("track", anonymousId="u-1", event="Opened App"))
    send(
        message("identify", userId="u-1", anonymousId="u-1"), message("alias", previousId="u-1", userId="u-1")
    )
    send(message("track", anonymousId="u-1", event="Closed App"))

    [contact] = contacts(sessions)
    assert contact.user_id == "u-1"
    assert [(e.name, e.contact_id) for e in events_of(sessions)] == [
        ("Opened App", contact.id),
        ("Identify", contact.id),
        ("Alias", contact.id),
        ("Closed App", contact.id),
    ]


def test_a_group_with_a_domain_adopts_the_company_made_from_the_email_domain(
    send: Send, session: Session, sessions: sessionmaker[Session], ctx: Context
) -> None:
    send(message("identify", userId="u-1", traits={"email": "kim@acme.co.kr"}))
    [contact] = contacts(sessions)

    send(
        message(
            "group",
            userId="u-1",
            groupId="acct-7",
            traits={"name": "Acme", "website": "https://www.acme.co.kr/"},
        )
    )
    send(
        message("group", userId="u-1", groupId="acct-7", traits={"industry": "SaaS", "employees": "1,200명"})
    )

    with sessions() as check:
        [company] = check.scalars(select(Company))
        assert (company.id, company.external_id, company.name, company.domain, company.industry) == (
            contact.company_id,
            "acct-7",
            "Acme",
            "acme.co.kr",
            "SaaS",
        )
        assert company.size_band == "1001-5000"


def test_a_group_whose_domain_belongs_to_another_company_keeps_it_there_with_a_warning(
    send: Send, session: Session, sessions: sessionmaker[Session], ctx: Context, logged_warnings: Warnings
) -> None:
    other = make_company(session, ctx, name="Acme Holdings", domain="acme.co.kr")
    make_company(session, ctx, name="Old", domain="old.co.kr")
    with sessions.begin() as claim:
        claim.get_one(Company, other.id).external_id = "acct-1"

    send(message("group", userId="u-1", groupId="acct-2", traits={"website": "acme.co.kr"}, messageId="g-1"))

    assert logged_warnings() == [
        ("g-1", "traits.website", f"'acme.co.kr' belongs to company {other.id}; left there")
    ]
    with sessions() as check:
        [company] = check.scalars(select(Company).filter_by(external_id="acct-2"))
        assert (company.name, company.domain) == ("acct-2", None)


def test_concurrent_joins_of_one_visitor_leave_none_of_its_events_anonymous(
    live_server: str, write_key: str, sessions: sessionmaker[Session], ctx: Context, resolve: Resolve
) -> None:
    joiners, visitors, rounds = 6, 4, 6
    start = threading.Barrier(joiners + visitors)

    def post(batch: list[dict[str, Any]]) -> int:
        """Sends a batch, then resolves a few waiting calls: ten workers, racing each other."""
        with httpx.Client(base_url=live_server, auth=(write_key, ""), timeout=60) as client:
            status = client.post("/v1/batch", json={"batch": batch}).status_code
        resolve_pending(sessions, ctx, limit=3)
        return status

    def join(number: int) -> list[int]:
        identify = message("identify", userId="u-1", anonymousId="anon-1", traits={"email": "kim@acme.co.kr"})
        start.wait(timeout=30)
        return [post([identify, message("track", anonymousId=f"anon-{number}", event="Other")])]

    def browse(number: int) -> list[int]:
        start.wait(timeout=30)
        pages = [
            [message("track", anonymousId="anon-1", event=f"Browse {number}.{r}.{n}") for n in range(5)]
            for r in range(rounds)
        ]
        return [post(batch) for batch in pages]

    with ThreadPoolExecutor(joiners + visitors) as pool:
        futures = [pool.submit(join, n) for n in range(2, joiners + 2)]
        futures += [pool.submit(browse, n) for n in range(visitors)]
        statuses = [status for future in futures for status in future.result()]

    resolve()

    assert statuses == [200] * (joiners + visitors * rounds)
    [contact] = contacts(sessions)
    with sessions() as session:
        owners = session.execute(
            select(Event.contact_id, func.count())
            .where(Event.anonymous_id == "anon-1")
            .group_by(Event.contact_id)
        ).all()
        assert owners == [(contact.id, joiners + visitors * rounds * 5)]
        assert (
            session.scalar(select(func.count()).select_from(Event).where(Event.contact_id.is_(None)))
            == joiners
        )
