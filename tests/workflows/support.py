"""Helpers for the workflow tests: the shipped templates, and a small valid definition to vary."""

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.messaging.templates.store import apply_template
from tests.factories import make_template

EXAMPLES = Path(__file__).parents[2] / "examples" / "workflows"
NURTURE = EXAMPLES / "b2b_inquiry_nurture.yaml"
CART = EXAMPLES / "cart_abandonment.yaml"


def template(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def welcome(**changes: Any) -> dict[str, Any]:
    """A manual workflow: a welcome email, a day's wait, a tip; `changes` replace top-level keys."""
    return {
        "name": "welcome",
        "trigger": {"type": "manual"},
        "steps": [
            {"id": "hello", "type": "send", "channel": "email", "template": "welcome", "next": "pause"},
            {"id": "pause", "type": "wait", "duration": "1d", "next": "tip"},
            {"id": "tip", "type": "send", "channel": "email", "template": "first-tip"},
        ],
    } | changes


TEMPLATES = Path(__file__).parents[2] / "examples" / "templates"


def make_welcome_templates(session: Session, ctx: Context) -> None:
    """The two emails `welcome()` sends, so its send steps name templates that exist."""
    for name in ("welcome", "first-tip"):
        make_template(session, ctx, name)


def apply_example_templates(session: Session, ctx: Context) -> list[str]:
    """The shipped message templates of the two journeys, applied; their names."""
    names = []
    for path in sorted(TEMPLATES.glob("*.yaml")):
        names.append(apply_template(session, ctx, template(path)).template.name)
    session.commit()
    return names
