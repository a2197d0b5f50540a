"""Unowned contacts go to their company's owner, or to whom the first matching rule says, in turn."""

import itertools
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.errors import InvalidInput
from funnelwise.sales.assignment import assign_all_unowned, assign_contacts, create_assignment_rule
from funnelwise.sales.lifecycle import create_stage_rule
from funnelwise.sales.schemas import AssignmentRuleIn, StageRuleIn, TeamIn
from funnelwise.sales.teams import create_team, take_turn
from funnelwise.sales.upkeep import process_batch
from tests.factories import make_company, make_contact, make_property, make_user
from tests.sales.support import logged, track

SEOUL = {"property": "region", "operator": "equals", "value": "서울"}
EVERYONE: dict = {"all": []}
_numbers = itertools.count(1)


def _team(session: Session, ctx: Context, name: str, members: list[int], manager: int | None = None) -> int:
    team = create_team(session, ctx, TeamIn(name=name, member_ids=members, manager_id=manager))
    session.commit()
    return team.id


def _rule(session: Session, ctx: Context, name: str, condition: dict, **target: int) -> int:
    saved = create_assignment_rule(session, ctx, AssignmentRuleIn(name=name, condition=condition, **target))
    session.commit()
    return saved.rule.id


def _lead(session: Session, ctx: Context, **fields: object) -> int:
    """A contact at a free-mail address: no company, so no account owner to follow."""
    return make_contact(session, ctx, email=f"lead{next(_numbers)}@gmail.com", **fields).id


def _owners(session: Session, ids: list[int]) -> list[int | None]:
    rows = dict(session.execute(select(Contact.id, Contact.owner_id).where(Contact.id.in_(ids))).all())
    return [rows[i] for i in ids]


def test_a_team_takes_turns_in_the_order_of_its_members(session: Session, ctx: Context) -> None:
    reps = [make_user(session, ctx).id for _ in range(3)]
    team_id = _team(session, ctx, "Inside sales", reps)
    _rule(session, ctx, "Everyone", EVERYONE, team_id=team_id)
    contacts = [_lead(session, ctx) for _ in range(7)]

    assignments = assign_contacts(session, ctx, contacts)
    session.commit()

    assert _owners(session, contacts) == [reps[0], reps[1], reps[2], reps[0], reps[1], reps[2], reps[0]]
    assert {(a.via, a.team_id) for a in assignments} == {("round_robin", team_id)}
    message_id, contact_id, properties = logged(session, "Owner Assigned")[0]
    assert (contact_id, properties) == (contacts[0], {"owner_id": reps[0], "via": "round_robin",
                                                      "rule_id": 1, "team_id": team_id})  # fmt: skip
    assert message_id == f"owner-{contacts[0]}-{reps[0]}-2026-11-22T01:00:00+00:00"


def test_a_territory_rule_comes_before_the_catch_all_and_owned_contacts_are_left_alone(
    session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "region")
    seoul_rep, other_rep, keeper = (make_user(session, ctx).id for _ in range(3))
    _rule(session, ctx, "Seoul", SEOUL, user_id=seoul_rep)
    _rule(session, ctx, "Rest", EVERYONE, user_id=other_rep)
    seoul = _lead(session, ctx, properties={"region": "서울"})
    busan = _lead(session, ctx, properties={"region": "부산"})
    kept = _lead(session, ctx, owner_id=keeper, properties={"region": "서울"})

    assign_contacts(session, ctx, [seoul, busan, kept])
    session.commit()

    assert _owners(session, [seoul, busan, kept]) == [seoul_rep, other_rep, keeper]


def test_industry_and_company_size_rules_read_the_company(session: Session, ctx: Context) -> None:
    enterprise_rep, maker_rep = make_user(session, ctx).id, make_user(session, ctx).id
    _rule(session, ctx, "Enterprise", {"company": "size_band", "operator": "in", "value": ["1001-5000", "5001+"]},
          user_id=enterprise_rep)  # fmt: skip
    _rule(session, ctx, "Manufacturing", {"company": "industry", "operator": "equals", "value": "제조"},
          user_id=maker_rep)  # fmt: skip
    big = make_company(session, ctx, size_band="5001+", industry="제조", domain="big.co.kr")
    small = make_company(session, ctx, size_band="11-50", industry="제조", domain="small.co.kr")
    at_big = make_contact(session, ctx, email="a@big.co.kr")
    at_small = make_contact(session, ctx, email="b@small.co.kr")

    assign_contacts(session, ctx, [at_big.id, at_small.id])
    session.commit()

    assert (at_big.company_id, at_small.company_id) == (big.id, small.id)
    assert _owners(session, [at_big.id, at_small.id]) == [enterprise_rep, maker_rep]


def test_a_form_answer_routes_a_contact(session: Session, ctx: Context) -> None:
    rep = make_user(session, ctx).id
    _rule(session, ctx, "Wants a demo", {"event": "Form Submitted",
          "where": [{"property": "interest", "operator": "equals", "value": "demo"}]}, user_id=rep)  # fmt: skip
    ada, bob = _lead(session, ctx), _lead(session, ctx)
    track(session, ctx, ada, "Form Submitted", interest="demo")
    track(session, ctx, bob, "Form Submitted", interest="newsletter")

    assign_contacts(session, ctx, [ada, bob])

    assert _owners(session, [ada, bob]) == [rep, None]


def test_a_contact_of_an_owned_company_goes_to_its_owner_and_a_new_account_follows_its_first_rep(
    session: Session, ctx: Context
) -> None:
    account_rep, other_reps = make_user(session, ctx).id, [make_user(session, ctx).id for _ in range(2)]
    team_id = _team(session, ctx, "Team", other_reps)
    _rule(session, ctx, "Everyone", EVERYONE, team_id=team_id)
    make_company(session, ctx, domain="owned.co.kr", owner_id=account_rep)
    fresh = make_company(session, ctx, domain="fresh.co.kr")
    at_owned = make_contact(session, ctx, email="x@owned.co.kr")
    first, second = (
        make_contact(session, ctx, email="a@fresh.co.kr"),
        make_contact(session, ctx, email="b@fresh.co.kr"),
    )

    assignments = assign_contacts(session, ctx, [at_owned.id, first.id, second.id])
    session.commit()

    assert _owners(session, [at_owned.id, first.id, second.id]) == [account_rep, other_reps[0], other_reps[0]]
    assert [a.via for a in assignments] == ["company", "round_robin", "company"]
    assert session.get_one(Company, fresh.id, populate_existing=True).owner_id == other_reps[0]


def test_no_matching_rule_leaves_a_contact_unowned_and_a_pass_over_all_finds_the_rest(
    session: Session, ctx: Context
) -> None:
    make_property(session, ctx, "region")
    rep = make_user(session, ctx).id
    _rule(session, ctx, "Seoul", SEOUL, user_id=rep)
    nowhere = _lead(session, ctx)
    seoul = [_lead(session, ctx, properties={"region": "서울"}) for _ in range(3)]

    assert assign_contacts(session, ctx, [nowhere]) == []
    assert len(assign_all_unowned(session, ctx)) == 3
    assert _owners(session, [nowhere, *seoul]) == [None, rep, rep, rep]


def test_rules_name_salespeople_and_teams_of_salespeople_only(session: Session, ctx: Context) -> None:
    marketer = make_user(session, ctx, role="marketer").id

    with pytest.raises(InvalidInput) as not_sales:
        create_assignment_rule(session, ctx, AssignmentRuleIn(name="x", condition=EVERYONE, user_id=marketer))
    with pytest.raises(InvalidInput) as both:
        create_assignment_rule(session, ctx, AssignmentRuleIn(name="x", condition=EVERYONE))
    with pytest.raises(InvalidInput) as team:
        create_team(session, ctx, TeamIn(name="t", member_ids=[marketer, 999]))

    assert str(not_sales.value) == f"user_id: user {marketer} is a marketer, not a salesperson (role sales)"
    assert str(both.value) == "team_id: name exactly one of team_id (round-robin) or user_id"
    assert str(team.value) == (
        f"member_ids: no user with id 999; member_ids: user {marketer} is a marketer, not a salesperson (role sales)"
    )


def test_an_mql_is_routed_in_the_same_batch_it_becomes_one(session: Session, ctx: Context) -> None:
    rep = make_user(session, ctx).id
    create_stage_rule(
        session, ctx, StageRuleIn(name="Demo → MQL", stage="mql", condition={"event": "Demo Requested"})
    )
    _rule(
        session,
        ctx,
        "MQLs",
        {"property": "lifecycle_stage", "operator": "equals", "value": "mql"},
        user_id=rep,
    )
    ada = make_contact(session, ctx)
    track(session, ctx, ada.id, "Demo Requested")

    result = process_batch(session, ctx, [ada.id])

    assert [
        (c.to_stage, a.owner_id) for c, a in zip(result.stage_changes, result.assignments, strict=True)
    ] == [("mql", rep)]


WORKERS = 8


def _race(sessions: sessionmaker[Session], work: Callable[[Session, int], object]) -> None:
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            with sessions() as session:
                barrier.wait(timeout=10)
                work(session, number)
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung (deadlock?)"
    assert errors == []


def test_workers_assigning_at_once_share_turns_fairly(
    sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    reps = [make_user(session, ctx).id for _ in range(3)]
    team_id = _team(session, ctx, "Inside sales", reps)
    _rule(session, ctx, "Everyone", EVERYONE, team_id=team_id)
    batches = [[_lead(session, ctx) for _ in range(3)] for _ in range(WORKERS)]

    _race(sessions, lambda s, number: assign_contacts(s, ctx, batches[number]))

    with sessions() as check:
        owners = _owners(check, [c for batch in batches for c in batch])
        assert Counter(owners) == {reps[0]: 8, reps[1]: 8, reps[2]: 8}
        assert take_turn(check, team_id) == reps[0]  # the 25th turn starts the round again


def test_workers_assigning_the_same_contacts_give_each_one_owner(
    sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    reps = [make_user(session, ctx).id for _ in range(3)]
    _rule(session, ctx, "Everyone", EVERYONE, team_id=_team(session, ctx, "Inside sales", reps))
    contacts = [_lead(session, ctx) for _ in range(4)]

    _race(sessions, lambda s, _number: assign_contacts(s, ctx, contacts))

    with sessions() as check:
        assert _owners(check, contacts) == [reps[0], reps[1], reps[2], reps[0]]
        assert len(logged(check, "Owner Assigned")) == 4
