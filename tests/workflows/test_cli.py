"""An operator validates and applies the shipped templates from the shell, then pauses and resumes one."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.cli.support import Funnelwise, write
from tests.workflows.support import CART, NURTURE


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
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
