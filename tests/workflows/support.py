"""Helpers for the workflow tests: the shipped templates, and a small valid definition to vary."""

from pathlib import Path
from typing import Any

import yaml

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
