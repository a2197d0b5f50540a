"""Contacts move forward through lifecycle stages by rules; people may move them back on purpose."""

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput
from funnelwise.sales.lifecycle import (
    apply_all_stage_rules,
    apply_stage_rules,
    change_stage,
    create_stage_rule,
    stage_history,
    update_stage_rule,
)
from funnelwise.sales.schemas import StageRuleIn, StageRulePatch
from funnelwise.sales.stages import is_forward
from tests.factories import make_contact, make_user
from tests.sales.support import logged, track
from tests.scoring.support import ENGAGEMENT, FIT, apply

T0 = "2026-11-22T01:00:00+00:00"
PRICING = {
    "event": "Page Viewed",
    "where": [{"property": "path", "operator": "starts_with", "value": "/pricing"}],
}
SENIOR = {"property": "job_level", "operator": "in", "value": ["head", "executive"]}


def _rule(session: Session, ctx: Context, name: str, stage: str, condition: dict) -> int:
    saved = create_stage_rule(session, ctx, StageRuleIn(name=name, stage=stage, condition=condition))
    session.commit()
    return saved.rule.id


def _stage(session: Session, contact_id: int) -> str | None:
    return session.get_one(Contact, contact_id, populate_existing=True).lifecycle_stage


def test_a_lead_who_views_pricing_becomes_an_mql_once_and_the_change_is_logged(
    session: Session, ctx: Context
) -> None:
    rule_id = _rule(session, ctx, "Pricing → MQL", "mql", PRICING)
    ada = make_contact(session, ctx, lifecycle_stage="lead")
    track(session, ctx, ada.id, "Page Viewed", path="/pricing/teams")

    changes = apply_stage_rules(session, ctx, [ada.id, 987654])
    again = apply_stage_rules(session, ctx, [ada.id])
    session.commit()

    assert [(c.contact_id, c.from_stage, c.to_stage, c.source, c.rule_name) for c in changes] == [
        (ada.id, "lead", "mql", "rule", "Pricing → MQL")
    ]
    assert again == []
    assert _stage(session, ada.id) == "mql"
    assert [
        (h.from_stage, h.to_stage, h.entered_at.isoformat(), h.source, h.rule_id)
        for h in stage_history(session, ada.id)
    ] == [(None, "lead", T0, "api", None), ("lead", "mql", T0, "rule", rule_id)]
    assert logged(session, "Lifecycle Stage Changed")[1:] == [
        (
            f"stage-{ada.id}-mql-{T0}",
            ada.id,
            {"from_stage": "lead", "to_stage": "mql", "source": "rule", "rule_id": rule_id,
             "rule_name": "Pricing → MQL"},
        )
    ]  # fmt: skip


def test_rules_never_move_a_contact_back(session: Session, ctx: Context) -> None:
    _rule(session, ctx, "Pricing → MQL", "mql", PRICING)
    customer = make_contact(session, ctx, lifecycle_stage="customer")
    track(session, ctx, customer.id, "Page Viewed", path="/pricing")

    assert apply_stage_rules(session, ctx, [customer.id]) == []
    assert _stage(session, customer.id) == "customer"


def test_a_contact_matching_rules_for_two_stages_goes_to_the_further_one(
    session: Session, ctx: Context
) -> None:
    _rule(session, ctx, "Pricing → MQL", "mql", PRICING)
    _rule(session, ctx, "Senior pricing → SQL", "sql", {"all": [PRICING, SENIOR]})
    boss = make_contact(session, ctx, job_title="CEO")
    track(session, ctx, boss.id, "Page Viewed", path="/pricing")

    changes = apply_stage_rules(session, ctx, [boss.id])

    assert [(c.from_stage, c.to_stage) for c in changes] == [(None, "sql")]


def test_rules_that_read_the_stage_chain_within_one_call(session: Session, ctx: Context) -> None:
    _rule(session, ctx, "Signed up → lead", "lead", {"event": "Signed Up"})
    _rule(session, ctx, "Lead with a demo → MQL", "mql",
          {"all": [{"property": "lifecycle_stage", "operator": "equals", "value": "lead"}, {"event": "Demo Requested"}]})  # fmt: skip
    ada = make_contact(session, ctx)
    track(session, ctx, ada.id, "Signed Up")
    track(session, ctx, ada.id, "Demo Requested")

    changes = apply_stage_rules(session, ctx, [ada.id])

    assert [(c.from_stage, c.to_stage) for c in changes] == [(None, "lead"), ("lead", "mql")]


def test_disqualifying_wins_over_moving_forward_and_then_sticks(session: Session, ctx: Context) -> None:
    _rule(
        session,
        ctx,
        "Competitor",
        "disqualified",
        {"property": "email", "operator": "contains", "value": "@rival."},
    )
    _rule(session, ctx, "Pricing → MQL", "mql", PRICING)
    spy = make_contact(session, ctx, email="spy@rival.example", lifecycle_stage="lead")
    track(session, ctx, spy.id, "Page Viewed", path="/pricing")

    first = apply_stage_rules(session, ctx, [spy.id])
    later = apply_stage_rules(session, ctx, [spy.id])

    assert [(c.from_stage, c.to_stage) for c in first] == [("lead", "disqualified")]
    assert later == []


def test_the_full_pass_moves_every_matching_contact_and_counts_them(session: Session, ctx: Context) -> None:
    _rule(session, ctx, "Senior → MQL", "mql", SENIOR)
    _rule(session, ctx, "Everyone → subscriber", "subscriber", {"all": []})
    heads = [make_contact(session, ctx, job_title="마케팅본부장") for _ in range(3)]
    staff = make_contact(session, ctx, job_title="사원")

    result = apply_all_stage_rules(session, ctx)
    session.commit()

    assert result.changed == 4
    assert result.entered == {"mql": 3, "subscriber": 1}
    assert [_stage(session, c.id) for c in heads] == ["mql", "mql", "mql"]
    assert _stage(session, staff.id) == "subscriber"
    assert apply_all_stage_rules(session, ctx).changed == 0


def test_an_inactive_or_changed_rule_moves_nobody_back(session: Session, ctx: Context) -> None:
    rule_id = _rule(session, ctx, "Senior → MQL", "mql", SENIOR)
    boss = make_contact(session, ctx, job_title="CEO")
    apply_stage_rules(session, ctx, [boss.id])
    update_stage_rule(session, ctx, rule_id, StageRulePatch(stage="lead", is_active=False))

    assert apply_all_stage_rules(session, ctx).changed == 0
    assert _stage(session, boss.id) == "mql"


def test_a_salesperson_moves_a_contact_back_only_on_purpose(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    rep = make_user(session, ctx)
    ada = make_contact(session, ctx, lifecycle_stage="sql")

    with pytest.raises(Conflict) as refused:
        change_stage(session, ctx, ada.id, "lead")
    clock.advance(timedelta(minutes=5))
    moved = change_stage(
        session, ctx, ada.id, "lead", force=True, user_id=rep.id, reason="no budget this year"
    )
    session.commit()

    assert str(refused.value) == (
        f"stage: contact {ada.id} is at sql; moving it back to lead needs force (a deliberate move back)"
    )
    assert moved.changed
    assert moved.change is not None
    assert (moved.change.from_stage, moved.change.to_stage, moved.change.forced) == ("sql", "lead", True)
    assert [
        (h.to_stage, h.source, h.user_id, h.forced, h.reason) for h in stage_history(session, ada.id)
    ] == [("sql", "api", None, False, ""), ("lead", "user", rep.id, True, "no budget this year")]
    _created, event = logged(session, "Lifecycle Stage Changed")
    assert event[2] == {"from_stage": "sql", "to_stage": "lead", "source": "user", "user_id": rep.id,
                        "forced": True, "reason": "no budget this year"}  # fmt: skip


def test_moving_forward_by_hand_needs_no_force_and_the_same_stage_changes_nothing(
    session: Session, ctx: Context
) -> None:
    ada = make_contact(session, ctx, lifecycle_stage="mql")

    same = change_stage(session, ctx, ada.id, "MQL")
    forward = change_stage(session, ctx, ada.id, "opportunity")

    assert (same.changed, same.change) == (False, None)
    assert forward.change is not None
    assert (forward.change.from_stage, forward.change.forced) == ("mql", False)


def test_an_unknown_stage_is_refused_by_name(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as bad:
        create_stage_rule(session, ctx, StageRuleIn(name="x", stage="hot", condition={"all": []}))

    assert str(bad.value) == (
        "stage: unknown lifecycle stage 'hot'; expected one of subscriber, lead, mql, sql, opportunity, "
        "customer, evangelist, other, disqualified"
    )


def test_a_bad_rule_condition_is_refused_by_its_path(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as bad:
        create_stage_rule(
            session,
            ctx,
            StageRuleIn(name="x", stage="mql", condition={"all": [{"event": "A", "times": "x"}]}),
        )

    assert [e.field for e in bad.value.errors] == ["condition.all[0].times"]


@pytest.mark.parametrize(
    ("current", "target", "forward"),
    [
        (None, "lead", True),
        ("other", "subscriber", True),
        ("lead", "subscriber", False),
        ("lead", "disqualified", True),
        ("customer", "disqualified", False),
        ("disqualified", "customer", False),
        ("evangelist", "other", False),
    ],
)
def test_which_moves_go_forward(current: str | None, target: str, forward: bool) -> None:
    assert is_forward(current, target) is forward


def test_fit_at_least_b_and_engagement_at_least_30_makes_an_mql(
    sessions: sessionmaker[Session], session: Session, ctx: Context
) -> None:
    _rule(session, ctx, "Fit and engaged", "mql",
          {"all": [{"grade": {"model": "fit", "gte": "B"}}, {"score": {"model": "engagement", "gte": 30}}]})  # fmt: skip
    keen_ceo = make_contact(session, ctx, job_title="CEO")
    keen_staff = make_contact(session, ctx, job_title="사원")
    for contact in (keen_ceo, keen_staff):
        for _ in range(3):
            track(session, ctx, contact.id, "Webinar Attended")
    apply(sessions, ctx, FIT)
    apply(sessions, ctx, {**ENGAGEMENT, "rules": [{"name": "webinar", "condition": {"event": "Webinar Attended"},
                                                   "points": 11}]})  # fmt: skip

    changes = apply_stage_rules(session, ctx, [keen_ceo.id, keen_staff.id])

    assert [(c.contact_id, c.to_stage) for c in changes] == [(keen_ceo.id, "mql")]
