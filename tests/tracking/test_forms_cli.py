"""An operator defines a form from a YAML file and copies its embed snippet from the shell."""

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.tracking.models import Form
from tests.cli.support import Funnelwise

WEBINAR_YAML = """\
slug: webinar-2026
name: 웨비나 신청
locale: ko
fields:
  - name: name
    required: true
  - name: email
    required: true
consents:
  - channel: email
    topic: newsletter
    wording: 뉴스레터 수신에 동의합니다.
    version: "2026-11"
    double_opt_in: true
"""
SNIPPET = (
    '<script src="https://forms.example.co.kr/f/webinar-2026/embed.js"></script>\n'
    '<noscript><a href="https://forms.example.co.kr/f/webinar-2026">https://forms.example.co.kr/f/webinar-2026</a></noscript>\n'
)


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url, public_url="https://forms.example.co.kr")


def test_a_form_defined_in_yaml_is_created_listed_and_embedded(
    funnelwise: Funnelwise, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    definition = tmp_path / "webinar.yaml"
    definition.write_text(WEBINAR_YAML, encoding="utf-8")

    created = funnelwise("form", "create", definition)
    listed = funnelwise("form", "list")
    embedded = funnelwise("form", "embed", "webinar-2026")

    assert created.exit_code == 0, created.output
    assert (
        "Created form 'webinar-2026' (웨비나 신청) at https://forms.example.co.kr/f/webinar-2026"
        in created.stderr
    )
    assert created.stdout == SNIPPET
    assert (
        listed.stdout == "webinar-2026\t웨비나 신청\t2 fields\thttps://forms.example.co.kr/f/webinar-2026\n"
    )
    assert embedded.stdout == SNIPPET
    with sessions() as session:
        form = session.scalars(select(Form)).one()
    assert form.definition["consents"] == [
        {
            "channel": "email",
            "topic": "newsletter",
            "wording": "뉴스레터 수신에 동의합니다.",
            "version": "2026-11",
            "required": False,
            "double_opt_in": True,
        }
    ]


def test_a_definition_with_an_unknown_target_is_refused_naming_the_field(
    funnelwise: Funnelwise, tmp_path: Path
) -> None:
    definition = tmp_path / "bad.json"
    definition.write_text(
        '{"slug": "bad-form", "name": "Bad", "fields": [{"name": "email"}, {"name": "budget"}]}',
        encoding="utf-8",
    )

    result = funnelwise("form", "create", definition)

    assert result.exit_code == 2
    assert (
        "error: fields.1.target: 'budget' is neither a contact field nor a defined property" in result.stderr
    )


def test_embedding_an_unknown_form_says_so(funnelwise: Funnelwise) -> None:
    result = funnelwise("form", "embed", "no-such-form")

    assert result.exit_code == 2
    assert "error: form 'no-such-form' not found" in result.stderr
