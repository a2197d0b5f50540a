"""An operator applies the shipped templates from the shell, checks a broken one and previews for a contact."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from tests.cli.support import Funnelwise, write
from tests.factories import make_contact

EXAMPLES = Path(__file__).parents[3] / "examples" / "templates"


@pytest.fixture
def funnelwise(
    database_url: str, sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Funnelwise:
    monkeypatch.chdir(tmp_path)
    return Funnelwise(database_url)


def test_the_shipped_templates_are_applied_listed_and_previewed_for_a_contact(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        make_contact(session, ctx, email="minsu@example.com", first_name="민수")
    files = sorted(EXAMPLES.glob("*.yaml"))

    applied = funnelwise("template", "apply", *files)
    again = funnelwise("template", "apply", EXAMPLES / "cart-coupon.yaml")
    listed = funnelwise("template", "list", "--channel", "kakao_brand")
    korean = funnelwise(
        "template", "preview", "cart-reminder-kakao", "--contact", "minsu@example.com",
        "--variables", '{"trigger": {"event": "Checkout Started", "properties": {"value": 59000, '
        '"products": [{"name": "티셔츠", "price": 19000}, {"name": "청바지", "price": 40000}]}}}',
    )  # fmt: skip
    english = funnelwise(
        "template", "preview", "signup-guide", "--contact", "minsu@example.com", "--locale", "en"
    )

    assert applied.exit_code == 0, applied.stderr
    assert applied.stderr.count(" created.") == len(files) == 10
    assert "Template cart-reminder-kakao (id " in applied.stderr
    assert again.stderr.endswith("unchanged.\n")
    assert listed.stdout.split("\t")[1:] == [
        "cart-reminder-kakao",
        "kakao_brand",
        "advertising",
        "promotions",
        "en,ko\n",
    ]
    assert korean.exit_code == 0, korean.stderr
    assert korean.stdout.startswith(
        "Locale: ko\n\n민수님, 장바구니에 담아 두신 상품이 기다리고 있어요.\n- 티셔츠 19,000원\n- 청바지 40,000원\n합계 59,000원\n"
    )
    assert '"url_mobile": "https://shop.example.com/cart"' in korean.stdout
    assert english.stdout.startswith(
        "Subject: Start with Funnelwise in 3 steps\nLocale: en\n\n민수, getting started is simple.\n"
    )


def test_a_broken_template_is_reported_with_its_line_and_nothing_is_stored(
    funnelwise: Funnelwise, tmp_path: Path
) -> None:
    both = write(
        tmp_path / "both.yaml",
        "- name: ok\n  channel: sms\n  purpose: informational\n  locales: {ko: {text: '안녕하세요'}}\n"
        "- name: broken\n  channel: email\n  purpose: informational\n"
        "  locales:\n    ko:\n      subject: 안녕\n      html: |\n        <p>\n        {{ contact.first_name }</p>\n",
    )

    validated = funnelwise("template", "validate", both)
    applied = funnelwise("template", "apply", both)
    listed = funnelwise("template", "list")
    not_yaml = funnelwise("template", "apply", write(tmp_path / "bad.yaml", "just text\n"))

    assert validated.exit_code == applied.exit_code == 2
    assert "error: broken: locales.ko.html: line 2: unexpected '}'" in validated.stderr
    assert "error: broken: locales.ko.html: line 2: unexpected '}'" in applied.stderr
    assert listed.stdout == ""
    assert (
        "expected a template (a mapping with name, channel, purpose and locales) or a list of them"
        in not_yaml.stderr
    )


def test_a_preview_for_an_unknown_contact_or_template_is_refused(
    funnelwise: Funnelwise, sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions() as session:
        make_contact(session, ctx, email="ada@example.com")
    funnelwise("template", "apply", EXAMPLES / "signup-guide.yaml")

    nobody = funnelwise("template", "preview", "signup-guide", "--contact", "bo@example.com")
    nothing = funnelwise("template", "preview", "nope", "--contact", "ada@example.com")
    bad_json = funnelwise(
        "template", "preview", "signup-guide", "--contact", "ada@example.com", "--variables", "{"
    )

    assert "error: contact 'bo@example.com' not found" in nobody.stderr
    assert "error: template 'nope' not found" in nothing.stderr
    assert "error: --variables is not valid JSON" in bad_json.stderr
