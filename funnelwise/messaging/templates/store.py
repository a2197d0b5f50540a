"""Saving, reading and deleting message templates; a save checks and compiles, or stores nothing."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput, NotFound
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.models import MessageTemplate
from funnelwise.messaging.templates.compile import compile_contents
from funnelwise.messaging.templates.definition import read_template
from funnelwise.messaging.templates.usage import template_users


class TemplateOut(BaseModel):
    """A stored template as written: `locales` is the content the user gave, by locale."""

    id: int
    name: str
    channel: str
    purpose: str
    topic: str
    default_locale: str
    description: str | None
    locales: dict[str, dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class TemplateSaved(BaseModel):
    template: TemplateOut
    created: bool
    changed: bool


class CheckedTemplate(BaseModel):
    """A definition that would save: its fields, the content by locale and what rendering uses."""

    name: str
    channel: MessageChannel
    purpose: str
    topic: str
    default_locale: str
    description: str | None
    content: dict[str, dict[str, Any]]
    compiled: dict[str, dict[str, Any]]


def check_template(data: Any) -> CheckedTemplate:
    """The definition checked and compiled, stored nowhere; `InvalidInput` names every problem."""
    template, contents = read_template(data)
    compiled = compile_contents(template.channel, contents)
    return CheckedTemplate(
        name=template.name,
        channel=template.channel,
        purpose=template.purpose.value,
        topic=template.topic or "",
        default_locale=template.default_locale,
        description=template.description,
        content=contents,
        compiled=compiled,
    )


def create_template(session: Session, ctx: Context, data: Any) -> TemplateOut:
    """A new template; `Conflict` when the name is taken."""
    checked = check_template(data)
    existing = _named(session, checked.name)
    if existing is not None:
        raise Conflict("name", f"a template named {checked.name!r} exists", existing.id)
    return _out(_insert(session, ctx, checked))


def apply_template(session: Session, ctx: Context, data: Any, *, name: str | None = None) -> TemplateSaved:
    """Creates the template or replaces the one of that name; `name` (from a URL) must match the body's."""
    if name is not None and isinstance(data, dict):
        given = data.get("name")
        if given is None:
            data = {**data, "name": name}
        elif given != name:
            raise InvalidInput.single("name", f"the body names {given!r} but the address names {name!r}")
    checked = check_template(data)
    row = _named(session, checked.name)
    if row is None:
        return TemplateSaved(template=_out(_insert(session, ctx, checked)), created=True, changed=True)
    fields = _fields(checked)
    if all(getattr(row, key) == value for key, value in fields.items()):
        return TemplateSaved(template=_out(row), created=False, changed=False)
    for key, value in fields.items():
        setattr(row, key, value)
    row.updated_at = ctx.clock.now()
    session.flush()
    return TemplateSaved(template=_out(row), created=False, changed=True)


def get_template(session: Session, name: str) -> TemplateOut:
    return _out(load_template(session, name))


def load_template(session: Session, name: str) -> MessageTemplate:
    """The template named `name` (or with that id, when `name` is a number); `NotFound` otherwise."""
    row = _named(session, name)
    if row is None and name.isdigit():
        row = session.get(MessageTemplate, int(name))
    if row is None:
        raise NotFound("template", name)
    return row


def list_templates(session: Session, channel: MessageChannel | None = None) -> list[TemplateOut]:
    query = select(MessageTemplate).order_by(MessageTemplate.name)
    if channel is not None:
        query = query.where(MessageTemplate.channel == channel.value)
    return [_out(row) for row in session.scalars(query)]


def delete_template(session: Session, name: str) -> None:
    """Deletes a template nothing sends any more; `Conflict` naming what still does otherwise."""
    template = load_template(session, name)
    users = template_users(session, template.name)
    if users:
        raise Conflict(
            "name",
            f"template {template.name!r} is still used by {', '.join(users)}; "
            "change or finish those first, then delete it",
        )
    session.delete(template)
    session.flush()


def template_channels(session: Session, names: set[str]) -> dict[str, str]:
    """The channel of each stored template among `names`."""
    if not names:
        return {}
    found = session.execute(
        select(MessageTemplate.name, MessageTemplate.channel).where(MessageTemplate.name.in_(names))
    )
    return {name: channel for name, channel in found}


def _named(session: Session, name: str) -> MessageTemplate | None:
    return session.scalars(select(MessageTemplate).where(MessageTemplate.name == name)).one_or_none()


def _fields(checked: CheckedTemplate) -> dict[str, Any]:
    return {
        "channel": checked.channel.value,
        "purpose": checked.purpose,
        "topic": checked.topic,
        "default_locale": checked.default_locale,
        "description": checked.description,
        "content": checked.content,
        "compiled": checked.compiled,
    }


def _insert(session: Session, ctx: Context, checked: CheckedTemplate) -> MessageTemplate:
    now = ctx.clock.now()
    row = MessageTemplate(name=checked.name, created_at=now, updated_at=now, **_fields(checked))
    session.add(row)
    session.flush()
    return row


def _out(row: MessageTemplate) -> TemplateOut:
    return TemplateOut(
        id=row.id,
        name=row.name,
        channel=row.channel,
        purpose=row.purpose,
        topic=row.topic,
        default_locale=row.default_locale,
        description=row.description,
        locales=row.content,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
