"""An operator runs stages, routing, follow-ups, deals and accounts from the `funnelwise` command."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from tests.cli.support import Funnelwise, write
from tests.factories import make_company, make_contact, make_user
from tests.sales.support import track

STAGE_RULE = """
name: Pricing viewers
stage: mql
condition:
  event: Page Viewed
  where:
    - {property: path, operator: starts_with, value: /pricing}
"""
ASSIGNMENT_RULE = """
name: MQLs to inside sales
team: Inside sales
condition: {property: lifecycle_stage, operator: equals, value: mql}
"""


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url)


def test_a_stage_rule_moves_contacts_and_a_move_back_needs_force(
    funnelwise: Funnelwise, session: Session, ctx: Context, tmp_path: Path
) -> None:
    ada = make_contact(session, ctx, email="ada@example.org", lifecycle_stage="lead")
    track(session, ctx, ada.id, "Page Viewed", path="/pricing")

    created = funnelwise("stage", "rule", "create", write(tmp_path / "rule.yaml", STAGE_RULE))
    applied = funnelwise("stage", "apply")
    refused = funnelwise("stage", "set", "ada@example.org", "lead")
    forced = funnelwise("stage", "set", "ada@example.org", "lead", "--force", "--reason", "wrong")
    history = funnelwise("stage", "history", str(ada.id))

    assert created.exit_code == 0, created.output
    assert "Created stage rule Pricing viewers (id 1) → mql." in created.output
    assert "1 contacts moved: 1 to mql." in applied.output
    assert refused.exit_code == 2
    assert f"contact {ada.id} is at mql; moving it back to lead needs force" in refused.output
    assert forced.exit_code == 0, forced.output
    assert [line.split("\t")[1:] for line in history.stdout.splitlines()] == [
        ["", "lead", "api", "", ""],
        ["lead", "mql", "rule 1", "", ""],
        ["mql", "lead", "user -", "forced", "wrong"],
    ]


def test_a_team_takes_mqls_in_turn_and_the_tasks_and_account_are_printed(
    funnelwise: Funnelwise, session: Session, ctx: Context, tmp_path: Path
) -> None:
    make_user(session, ctx, email="boss@funnelwise.example", role="admin")
    make_user(session, ctx, email="kim@funnelwise.example")
    make_user(session, ctx, email="lee@funnelwise.example")
    acme = make_company(session, ctx, name="Acme", domain="acme.co.kr")
    leads = [make_contact(session, ctx, email=f"p{n}@acme.co.kr", lifecycle_stage="mql").id for n in range(2)]

    team = funnelwise("sales", "team", "create", "Inside sales", "--manager", "boss@funnelwise.example",
                      "--member", "kim@funnelwise.example", "--member", "lee@funnelwise.example")  # fmt: skip
    rule = funnelwise("sales", "rule", "create", write(tmp_path / "assign.yaml", ASSIGNMENT_RULE))
    assigned = funnelwise("sales", "assign")
    sla = funnelwise("sales", "sla", "create", "--name", "MQL fast", "--stage", "sql", "--within", "60",
                     "--webhook", "https://hooks.example.org/x")  # fmt: skip
    deal = funnelwise("sales", "deal", "create", "--name", "Acme pilot", "--amount", "12,000,000원",
                      "--company", "acme.co.kr", "--stage", "proposal")  # fmt: skip
    lost = funnelwise("sales", "deal", "move", "1", "closed_lost")
    view = funnelwise("sales", "account", "acme.co.kr")

    assert team.exit_code == 0, team.output
    assert rule.exit_code == 0, rule.output
    # The first lead goes to kim by turn; the second follows the account kim now owns.
    assert assigned.stdout.splitlines() == [f"{leads[0]}\t2\tround_robin", f"{leads[1]}\t2\tcompany"]
    assert sla.exit_code == 0, sla.output
    assert sla.stdout.startswith("whsec_")
    assert "Created deal 1 Acme pilot: proposal, 12,000,000 KRW." in deal.output
    assert lost.exit_code == 2
    assert "close_reason: a lost deal needs a close reason" in lost.output
    assert view.stdout.splitlines()[:5] == [
        f"Acme (id {acme.id}), owner 2",
        "contacts: 2 (mql 2)",
        "engaged in 30 days: 0 (0 events)",
        "buying committee: 0 of 0 engaged",
        "deals: 1 open (12,000,000, weighted 6,000,000), 0 won (0), 0 lost",
    ]


def test_an_unknown_contact_or_team_is_named(funnelwise: Funnelwise) -> None:
    unknown = funnelwise("stage", "set", "nobody@example.org", "mql")
    no_team = funnelwise("sales", "team", "add", "Ghosts", "--member", "1")

    assert unknown.exit_code == 2
    assert "contact 'nobody@example.org' not found" in unknown.output
    assert "team 'Ghosts' not found" in no_team.output
