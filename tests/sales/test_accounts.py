"""A company's view rolls up its people: stages, owners, recent engagement, deals and scores."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from funnelwise.errors import NotFound
from funnelwise.sales.accounts import account
from funnelwise.sales.deals import create_deal, move_deal
from funnelwise.sales.schemas import DealIn, DealMoveIn
from tests.factories import make_company, make_contact, make_user
from tests.sales.support import track
from tests.scoring.support import FIT, apply


def test_an_account_counts_its_engaged_buying_committee(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    rep = make_user(session, ctx)
    acme = make_company(session, ctx, name="Acme", domain="acme.co.kr", owner_id=rep.id)
    ceo = make_contact(
        session, ctx, email="ceo@acme.co.kr", job_title="대표이사", lifecycle_stage="sql", owner_id=rep.id
    )
    head = make_contact(session, ctx, email="head@acme.co.kr", job_title="마케팅팀장", lifecycle_stage="mql")
    staff = make_contact(session, ctx, email="staff@acme.co.kr", job_title="사원", lifecycle_stage="lead")
    make_contact(session, ctx, email="someone@elsewhere.co.kr")
    track(session, ctx, head.id, "Page Viewed", path="/old")
    clock.advance(timedelta(days=40))
    track(session, ctx, ceo.id, "Page Viewed", path="/pricing")
    track(session, ctx, ceo.id, "Webinar Attended")
    track(session, ctx, staff.id, "Page Viewed", path="/blog")
    open_deal = create_deal(
        session, ctx, DealIn(name="Acme pilot", amount=10_000_000, company_id=acme.id, stage="proposal")
    )
    won = create_deal(session, ctx, DealIn(name="Acme seats", amount=2_000_000, company_id=acme.id))
    move_deal(session, ctx, won.id, DealMoveIn(stage="closed_won"))
    session.commit()

    view = account(session, ctx, acme.id)

    assert (view.name, view.owner_id, view.contacts) == ("Acme", rep.id, 3)
    assert view.stages == {"lead": 1, "mql": 1, "sql": 1}
    assert view.owners == {str(rep.id): 1, "none": 2}
    assert (view.events, view.engaged_contacts) == (3, 2)
    assert (view.buying_committee, view.engaged_buying_committee) == (2, 1)
    assert [(m.contact_id, m.events, m.engaged, m.in_buying_committee) for m in view.members] == [
        (ceo.id, 2, True, True), (head.id, 0, False, True), (staff.id, 1, True, False),
    ]  # fmt: skip
    assert view.deals.model_dump() == {
        "open": 1, "open_amount": 10_000_000, "weighted_amount": 5_000_000, "won": 1, "won_amount": 2_000_000, "lost": 0,
    }  # fmt: skip
    assert open_deal.company_id == acme.id
    assert account(session, ctx, acme.id, days=60).engaged_buying_committee == 2


def test_an_unknown_company_is_not_found(session: Session, ctx: Context) -> None:
    with pytest.raises(NotFound):
        account(session, ctx, 424242)


def test_an_account_rolls_up_its_members_scores(
    sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    acme = make_company(session, ctx, name="Acme", domain="acme.co.kr")
    ceo = make_contact(session, ctx, email="ceo@acme.co.kr", job_title="CEO")
    staff = make_contact(session, ctx, email="staff@acme.co.kr", job_title="사원")
    apply(sessions, ctx, FIT)

    view = account(session, ctx, acme.id)

    assert {m.contact_id: m.scores for m in view.members} == {
        ceo.id: {"fit": {"score": 4.0, "grade": "B"}},
        staff.id: {"fit": {"score": 1.0, "grade": "D"}},
    }
    assert view.scores == {"fit": {"sum": 5.0, "average": 2.5, "max": 4.0}}
