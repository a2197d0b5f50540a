"""An operator validates and applies the shipped templates from the shell, then pauses and resumes one."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.workflows.engine import run_all_due
from funnelwise.workflows.schemas import EnrollIn
from funnelwise.workflows.service import apply_workflow, enroll_contacts
from tests.cli.support import Funnelwise, write
from tests.factories import make_contact
from tests.workflows.support import CART, NURTURE, make_welcome_templates, welcome
from tests.workflows.test_engine import start


@pytest.fixture
def funnelwise(
    database_url: str,
    sessions: sessionmaker[Session],
    ctx: Context,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    with sessions() as session:
        make_welcome_templates(session, ctx)
    return Funnelwise(database_url)


def test_the_templates_are_validated_applied_listed_paused_and_resumed(funnelwise: Funnelwise) -> None:
    refused = funnelwise("workflow", "validate", CART)
    valid = funnelwise("workflow", "validate", CART, "--allow-unknown")
    applied = funnelwise("workflow", "apply", NURTURE, "--allow-unknown")
    again = funnelwise("workflow", "apply", NURTURE, "--allow-unknown")
    funnelwise("workflow", "apply", CART, "--allow-unknown")
    paused_draft = funnelwise("workflow", "pause", "cart-abandonment")
    resumed = funnelwise("workflow", "resume", "cart-abandonment")
    paused = funnelwise("workflow", "pause", "2")
    listed = funnelwise("workflow", "list")

    assert refused.exit_code == 2
    assert "error: trigger: no event named 'Checkout Started' has been recorded yet" in refused.stderr
    assert valid.exit_code == 0
    assert "warning: steps[0]: no event named 'Order Completed' has been recorded yet" in valid.stderr
    assert "Workflow cart-abandonment is valid: 6 steps." in valid.stderr
    assert "Workflow b2b-inquiry-nurture (id 1) created as a draft: version 1." in applied.stderr
    assert "Workflow b2b-inquiry-nurture (id 1) is unchanged: version 1." in again.stderr
    assert paused_draft.exit_code == 2
    assert "Workflow cart-abandonment (id 2) is active." in resumed.stderr
    assert "Workflow cart-abandonment (id 2) is paused." in paused.stderr
    assert listed.stdout == "1\tb2b-inquiry-nurture\tdraft\tv1\n2\tcart-abandonment\tpaused\tv1\n"


def test_a_file_that_is_not_a_mapping_is_refused(funnelwise: Funnelwise, tmp_path: Path) -> None:
    result = funnelwise("workflow", "validate", write(tmp_path / "bad.yaml", "- just\n- a list\n"))

    assert result.exit_code == 2
    assert "expected a mapping with name, trigger, steps and settings" in result.stderr


def test_an_operator_enrolls_contacts_and_sees_the_counts_per_step(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada, ben, cy = (make_contact(session, ctx).id for _ in range(3))
        workflow_id = start(session, ctx, welcome())
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada, ben], key="launch"))
        session.commit()
    run_all_due(sessions, ctx)

    enrolled = funnelwise(
        "workflow", "enroll", "welcome", "--contact", cy, "--contact", 999_999, "--key", "k"
    )
    status = funnelwise("workflow", "status", "welcome")

    assert enrolled.exit_code == 0
    assert f"Enrolled 1 of 2 in workflow welcome: {cy}." in enrolled.stderr
    assert "skipped: contact 999999: no such contact" in enrolled.stderr
    assert "Workflow welcome (id 1) is active: version 1." in status.stderr
    assert status.stdout == (
        "version\tstep\ttype\tentered\twaiting\tcompleted\texited\tconverted\tfailed\n"
        "1\thello\tsend\t3\t1\t2\t0\t0\t0\n"
        "1\tpause\twait\t2\t2\t0\t0\t0\t0\n"
        "1\ttip\tsend\t0\t0\t0\t0\t0\t0\n"
        "\n"
        "version\tenrolled\tactive\tcompleted\texited\tconverted\tfailed\n"
        "1\t3\t3\t0\t0\t0\t0\n"
    )


def test_an_operator_reads_a_contacts_journey_and_moves_it_to_the_new_version(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        ada = make_contact(session, ctx).id
        workflow_id = start(session, ctx, welcome())
        enroll_contacts(session, ctx, workflow_id, EnrollIn(contact_ids=[ada], key="launch"))
        session.commit()
    run_all_due(sessions, ctx)
    hello, pause, tip = welcome()["steps"]
    with sessions() as session:
        apply_workflow(session, ctx, welcome(steps=[{**hello, "next": "rest"}, {**pause, "id": "rest"}, tip]))
        session.commit()

    journeys = funnelwise("workflow", "journeys", ada)
    stranded = funnelwise("workflow", "migrate", "welcome")
    with sessions() as session:
        apply_workflow(session, ctx, welcome(steps=[hello, {**pause, "duration": "2d"}, tip]))
        session.commit()
    moved = funnelwise("workflow", "migrate", "welcome", "--to-version", "3")
    unknown = funnelwise("workflow", "migrate", "welcome", "--to-version", "9")
    nobody = funnelwise("workflow", "journeys", 424242)

    at = "2026-11-22T01:00:00+00:00"
    assert journeys.stdout == (
        f"1\twelcome v1\tactive\tat pause until 2026-11-23T01:00:00+00:00\tenrolled {at}\n"
        f"\thello\tsend\t{at}\t{at}\tqueued email message 'welcome'\n"
    )
    assert "Moved 0 live enrollments of workflow welcome to version 2." in stranded.stderr
    assert "stayed: 1 on version 1 at step 'pause', which version 2 does not have" in stranded.stderr
    assert "Moved 1 live enrollments of workflow welcome to version 3." in moved.stderr
    assert unknown.exit_code == 2
    assert "error: to_version: workflow 'welcome' has no version 9; the newest is 3" in unknown.stderr
    assert nobody.exit_code == 2
    assert "contact 424242 not found" in nobody.stderr


def test_enrolling_in_a_draft_or_an_unknown_workflow_is_refused(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        apply_workflow(session, ctx, welcome())
        session.commit()

    draft = funnelwise("workflow", "enroll", "welcome", "--contact", "1")
    unknown = funnelwise("workflow", "status", "nope")

    assert draft.exit_code == 2
    assert "workflow 'welcome' is draft; resume it to enroll contacts" in draft.stderr
    assert unknown.exit_code == 2
    assert "workflow 'nope' not found" in unknown.stderr
