"""Builders of test data with sensible defaults; each goes through the real services."""

import itertools
from typing import Any

from sqlalchemy.orm import Session

from funnelwise.auth.schemas import UserOut
from funnelwise.auth.users import create_user
from funnelwise.contacts.companies import create_company
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.contacts.property_definitions import create_definition
from funnelwise.contacts.schemas import (
    CompanyIn,
    CompanyOut,
    ContactIn,
    ContactOut,
    EnumOptionIn,
    PropertyDefinitionIn,
    PropertyDefinitionOut,
)
from funnelwise.contacts.service import create_contact
from funnelwise.context import Context
from funnelwise.messaging.templates.store import TemplateOut, create_template

_numbers = itertools.count(1)


def make_contact(session: Session, ctx: Context, **fields: Any) -> ContactOut:
    number = next(_numbers)
    fields.setdefault("email", f"person{number}@example.org")
    contact = create_contact(session, ctx, ContactIn(**fields))
    session.commit()
    return contact


def make_company(session: Session, ctx: Context, **fields: Any) -> CompanyOut:
    number = next(_numbers)
    fields.setdefault("name", f"Company {number}")
    fields.setdefault("domain", f"company{number}.co.kr")
    company = create_company(session, ctx, CompanyIn(**fields))
    session.commit()
    return company


def make_property(
    session: Session,
    ctx: Context,
    name: str,
    type_: PropertyType | str = PropertyType.STRING,
    *,
    options: list[str] | dict[str, str] | None = None,
    object_type: ObjectType = ObjectType.CONTACT,
) -> PropertyDefinitionOut:
    if isinstance(options, dict):
        choices = [EnumOptionIn(value=v, label=label) for v, label in options.items()]
    else:
        choices = [EnumOptionIn(value=v) for v in options or []]
    data = PropertyDefinitionIn(
        name=name, label=name.replace("_", " ").title(), type=PropertyType(type_), options=choices
    )
    definition = create_definition(session, ctx, object_type, data)
    session.commit()
    return definition


def make_user(session: Session, ctx: Context, email: str | None = None, role: str = "sales") -> UserOut:
    user = create_user(session, ctx, email or f"rep{next(_numbers)}@funnelwise.example", "", role)
    session.commit()
    return user


def make_template(
    session: Session,
    ctx: Context,
    name: str | None = None,
    channel: str = "email",
    *,
    purpose: str = "informational",
    **fields: Any,
) -> TemplateOut:
    """A message template with one Korean variant that fits its channel; `fields` replace keys."""
    name = name or f"template-{next(_numbers)}"
    content = {
        "email": {
            "subject": f"{name} 안내",
            "html": f"<p>{{{{ contact.first_name | fallback('고객') }}}}님, {name}</p>",
        },
        "sms": {"text": f"{name} 안내"},
        "kakao": {"template_code": name.upper(), "text": f"{name} 안내"},
        "kakao_brand": {"text": f"{name} 안내"},
        "push": {"title": name, "text": f"{name} 안내"},
        "webhook": {"url": "https://hooks.example.com/funnelwise", "payload": {"template": name}},
    }[channel]
    data = {"name": name, "channel": channel, "purpose": purpose, "locales": {"ko": content}} | fields
    saved = create_template(session, ctx, data)
    session.commit()
    return saved
