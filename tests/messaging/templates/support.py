"""Helpers for the template tests: a template definition to vary, and rendering one without a database."""

from datetime import UTC, datetime
from typing import Any

from funnelwise.config import Settings
from funnelwise.messaging.message import Purpose
from funnelwise.messaging.templates.render import RenderedContent, TemplateSpec, render
from funnelwise.messaging.templates.store import check_template
from tests.conftest import TEST_SECRET

# Friday 4 December 2026, 15:00 in Seoul.
FRIDAY = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
SETTINGS = Settings(secret_key=TEST_SECRET, _env_file=None)


def email(**changes: Any) -> dict[str, Any]:
    """An informational email in Korean and English; `changes` replace top-level keys."""
    return {
        "name": "order-shipped",
        "channel": "email",
        "purpose": "informational",
        "locales": {
            "ko": {
                "subject": "{{ contact.first_name | fallback('고객') }}님, 주문이 출발했어요",
                "text": "곧 도착합니다.",
            },
            "en": {
                "subject": "{{ contact.first_name | fallback('Hi') }}, your order is on its way",
                "text": "Soon there.",
            },
        },
    } | changes


def spec(data: dict[str, Any]) -> TemplateSpec:
    checked = check_template(data)
    return TemplateSpec(
        checked.name,
        checked.channel,
        Purpose(checked.purpose),
        checked.topic,
        checked.default_locale,
        checked.compiled,
    )


def text_template(source: str, channel: str = "sms") -> TemplateSpec:
    """An SMS (or kakao_brand) template whose Korean and English text is `source`."""
    return spec(
        {
            "name": "t",
            "channel": channel,
            "purpose": "informational",
            "locales": {"ko": {"text": source}, "en": {"text": source}},
        }
    )


def rendered(
    template: TemplateSpec,
    contact: dict[str, Any] | None = None,
    *,
    locale: str | None = None,
    company: dict[str, Any] | None = None,
    **variables: Any,
) -> RenderedContent:
    return render(
        template,
        contact=contact or {},
        company=company,
        variables=variables,
        locale=locale,
        settings=SETTINGS,
        now=FRIDAY,
    )
