"""Rendering a stored template for one contact: the sandbox, the variables, the locale choice."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from funnelwise.config import Settings
from funnelwise.messaging.message import MessageChannel, Purpose


@dataclass(frozen=True)
class TemplateSpec:
    """What the sender needs of a stored template; `compiled` is `MessageTemplate.compiled`."""

    name: str
    channel: MessageChannel
    purpose: Purpose
    topic: str
    default_locale: str
    compiled: dict[str, Any]
    id: int = 0
    updated_at: str = ""


@dataclass(frozen=True)
class RenderedContent:
    """A template rendered for one contact, before the law's additions and link tracking."""

    subject: str | None
    text: str
    html: str | None
    data: dict[str, Any] = field(default_factory=dict)


class RenderError(Exception):
    """A template could not be rendered for a contact; `str(exc)` is the reason shown on the message."""


def load_templates(session: Session, names: Iterable[str]) -> dict[str, TemplateSpec]:
    """The stored templates among `names`, by name; unknown names are left out."""
    raise NotImplementedError


def render(
    spec: TemplateSpec,
    *,
    contact: dict[str, Any],
    company: dict[str, Any] | None,
    variables: dict[str, Any],
    locale: str | None,
    settings: Settings,
) -> RenderedContent:
    """The template's content for this contact in the best locale; raises RenderError."""
    raise NotImplementedError
