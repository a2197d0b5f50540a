"""A template rendered for a chosen contact (preview), and a test send through the outbox."""

import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from funnelwise.contacts.fields import CONTACT_FIELDS
from funnelwise.contacts.models import Company, Contact
from funnelwise.contacts.service import load_contact
from funnelwise.context import Context
from funnelwise.errors import InvalidInput
from funnelwise.messaging.outbox import OutboxMessage, OutboxStatus
from funnelwise.messaging.templates.render import RenderError, render, spec_of
from funnelwise.messaging.templates.store import load_template

_COMPANY_FIELDS = ("id", "name", "domain", "industry", "size_band", "owner_id")


class PreviewIn(BaseModel):
    contact_id: int = Field(ge=1, le=2**63 - 1)
    locale: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class PreviewOut(BaseModel):
    template: str
    channel: str
    locale: str | None
    subject: str | None
    text: str
    html: str | None
    data: dict[str, Any]


class SendTestIn(BaseModel):
    contact_id: int = Field(ge=1, le=2**63 - 1)
    to: str | None = Field(default=None, description="Send here instead of to the contact's address")


class SendTestOut(BaseModel):
    message_id: int
    status: str


def contact_variables(contact: Contact) -> dict[str, Any]:
    """`contact` as templates see it: its properties, with the built-in fields over them."""
    fields = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    return {
        **(contact.properties or {}),
        **fields,
        "id": contact.id,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def company_variables(company: Company | None) -> dict[str, Any] | None:
    """`company` as templates see it: its properties, with the built-in fields over them."""
    if company is None:
        return None
    return {**(company.properties or {}), **{name: getattr(company, name) for name in _COMPANY_FIELDS}}


def preview_template(session: Session, ctx: Context, name: str, data: PreviewIn) -> PreviewOut:
    """The template as this contact would get it; a render error is `InvalidInput` naming the template."""
    row = load_template(session, name)
    contact = load_contact(session, data.contact_id)
    company = session.get(Company, contact.company_id) if contact.company_id is not None else None
    try:
        content = render(
            spec_of(row),
            contact=contact_variables(contact),
            company=company_variables(company),
            variables=data.variables,
            locale=data.locale,
            settings=ctx.settings,
            now=ctx.clock.now(),
        )
    except RenderError as exc:
        raise InvalidInput.single("template", str(exc)) from None
    return PreviewOut(
        template=row.name,
        channel=row.channel,
        locale=content.locale,
        subject=content.subject,
        text=content.text,
        html=content.html,
        data=content.data,
    )


def send_test(session: Session, ctx: Context, name: str, data: SendTestIn) -> SendTestOut:
    """Queues the template for the contact (to `to` when given); the sender delivers it."""
    row = load_template(session, name)
    contact = load_contact(session, data.contact_id)
    now = ctx.clock.now()
    message = OutboxMessage(
        idempotency_key=f"test-{uuid.uuid4()}",
        contact_id=contact.id,
        channel=row.channel,
        template=row.name,
        status=OutboxStatus.QUEUED.value,
        source="test",
        variables={"to": data.to} if data.to else {},
        purpose=row.purpose,
        topic=row.topic,
        due_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(message)
    session.flush()
    return SendTestOut(message_id=message.id, status=message.status)
