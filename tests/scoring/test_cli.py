"""An operator applies a score model from YAML, lists, shows, explains and rescores it."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.context import Context
from tests.cli.support import Funnelwise, write
from tests.conftest import START
from tests.factories import make_contact
from tests.scoring.support import track_at

EXAMPLE = Path(__file__).parents[2] / "examples" / "scoring" / "b2b_saas.yaml"


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url)


def test_the_example_is_applied_listed_shown_explained_and_rescored(
    funnelwise: Funnelwise, session: Session, ctx: Context, clock: SimulatedClock, tmp_path: Path
) -> None:
    ada = make_contact(session, ctx, job_level="executive")
    track_at(session, ctx, clock, START, ada.id, "Webinar Attended")
    session.close()

    refused = funnelwise("score", "apply", EXAMPLE)
    applied = funnelwise("score", "apply", EXAMPLE, "--allow-unknown")
    listed = funnelwise("score", "list")
    shown = funnelwise("score", "show", "b2b-saas")
    again = funnelwise("score", "apply", write(tmp_path / "shown.yaml", shown.stdout), "--allow-unknown")
    explained = funnelwise("score", "explain", "b2b-saas", str(ada.id))
    rescored = funnelwise("score", "rescore")

    assert refused.exit_code == 2
    assert "rules[4].condition: no event named 'Page Viewed' has been recorded yet" in refused.stderr
    assert applied.exit_code == 0, applied.stderr
    assert "Score model b2b-saas (id 1): version 1." in applied.stderr
    assert "Scored 1 of 1 contacts with b2b-saas version 1; 1 scores changed." in applied.stderr
    assert listed.stdout == "1\tb2b-saas\tv1\t10 rules\n"
    assert shown.stdout.startswith("name: b2b-saas\ndescription: Fit by job level")
    assert "Score model b2b-saas (id 1) is unchanged." in again.stderr
    lines = explained.stdout.splitlines()
    assert lines[0] == "job level executive\tproperty\t4\tcounted 4\tnow 4.00"
    assert lines[1].startswith("webinar attended\tevent\t3\tcounted 3\tnow ")
    assert lines[2].startswith("score ")
    assert "Scored 1 of 1 contacts with b2b-saas version 2; 0 scores changed." in rescored.stderr


def test_a_file_that_is_not_a_model_is_refused(funnelwise: Funnelwise, tmp_path: Path) -> None:
    result = funnelwise(
        "score", "apply", write(tmp_path / "bad.yaml", "name: x\nrules:\n  - name: r\n    points: lots\n")
    )

    assert result.exit_code == 2
    assert "rules[0].condition: Field required" in result.stderr
    assert "rules[0].points: points must be a number, such as 2 or -10" in result.stderr
