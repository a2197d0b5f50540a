"""From claimed rows to deliveries: templates, contacts, the policy's decisions and rendering.

Everything here reads; nothing is written until the providers have answered.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.contacts.models import Company, Contact
from funnelwise.context import Context
from funnelwise.db.dialect import one_of
from funnelwise.messaging import compliance, links
from funnelwise.messaging.channels.registry import Providers
from funnelwise.messaging.claimed import ClaimedMessage
from funnelwise.messaging.fallback import FALLBACK_TEMPLATE_PREFIX
from funnelwise.messaging.message import Delivery, MessageChannel, Purpose, Rendered
from funnelwise.messaging.policy import Decision, Go, Policy
from funnelwise.messaging.templates.render import (
    RenderedContent,
    RenderError,
    TemplateSpec,
    load_templates,
    render,
)

SYSTEM_PREFIX = "system:"
SYSTEM_TOPIC = "service"


def stored_template(message: ClaimedMessage) -> str | None:
    """The stored template a message renders: none for system notices; an SMS fallback renders
    the AlimTalk template it stands in for."""
    if message.template.startswith(SYSTEM_PREFIX):
        return None
    return message.template.removeprefix(FALLBACK_TEMPLATE_PREFIX)


@dataclass
class Prepared:
    messages: list[ClaimedMessage]
    decisions: dict[int, Decision] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    deliveries: dict[int, Delivery] = field(default_factory=dict)

    def rendered_of(self, message_id: int) -> dict[str, Any] | None:
        """The rendered message as the development outbox keeps it."""
        delivery = self.deliveries.get(message_id)
        if delivery is None:
            return None
        rendered = delivery.rendered
        return {
            "to": rendered.to,
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "data": rendered.data,
            "headers": rendered.headers,
        }


def prepare(
    session: Session, ctx: Context, claimed: Sequence[ClaimedMessage], providers: Providers
) -> Prepared:
    templates = load_templates(session, {name for m in claimed if (name := stored_template(m))})
    prepared = Prepared(messages=[])
    for message in claimed:
        message, failure = _with_template(message, templates)
        prepared.messages.append(message)
        if failure is not None:
            prepared.failures[message.id] = failure
    contacts = _contacts(session, {m.contact_id for m in prepared.messages})
    deciding = [m for m in prepared.messages if m.id not in prepared.failures]
    prepared.decisions = Policy(session, ctx.settings, ctx.clock.now()).decide(deciding, contacts)
    for message in deciding:
        decision = prepared.decisions[message.id]
        if not isinstance(decision, Go):
            continue
        if message.channel not in providers:
            prepared.failures[message.id] = f"no provider is configured for channel '{message.channel}'"
            continue
        try:
            spec = templates.get(stored_template(message) or "")
            rendered = _render(ctx, message, spec, contacts[message.contact_id], decision)
        except (RenderError, compliance.ComplianceError) as exc:
            prepared.failures[message.id] = str(exc)
            continue
        prepared.deliveries[message.id] = Delivery(message.id, message.idempotency_key, rendered)
    return prepared


def _with_template(
    message: ClaimedMessage, templates: dict[str, TemplateSpec]
) -> tuple[ClaimedMessage, str | None]:
    name = stored_template(message)
    if name is None:
        return replace(
            message, purpose=Purpose.INFORMATIONAL.value, topic=message.topic or SYSTEM_TOPIC
        ), None
    spec = templates.get(name)
    if spec is None:
        return message, f"unknown template '{name}'"
    message = replace(
        message, purpose=message.purpose or spec.purpose.value, topic=message.topic or spec.topic
    )
    if spec.channel != message.channel and name == message.template:
        return message, (f"template '{spec.name}' is for channel '{spec.channel}', not '{message.channel}'")
    return message, None


def _render(
    ctx: Context,
    message: ClaimedMessage,
    spec: TemplateSpec | None,
    contact: dict[str, Any],
    go: Go,
) -> Rendered:
    settings = ctx.settings
    company = contact.get("_company")
    contact = {key: value for key, value in contact.items() if key != "_company"}
    email = message.channel == MessageChannel.EMAIL
    unsubscribe = links.unsubscribe_url(settings, message.id) if email else None
    if spec is None:
        content = compliance.render_system_notice(
            message.template.removeprefix(SYSTEM_PREFIX),
            contact=contact,
            variables=message.variables,
            channel=message.channel,
            settings=settings,
            unsubscribe_url=unsubscribe,
        )
    else:
        content = render(
            spec,
            contact=contact,
            company=company,
            variables=message.variables,
            locale=contact.get("locale"),
            settings=settings,
            now=ctx.clock.now(),
        )
    if message.purpose == Purpose.ADVERTISING:
        content = compliance.apply_advertising_rules(
            content, message.channel, settings, unsubscribe_url=unsubscribe
        )
    return _rendered(ctx, message, content, go.recipient, track=email and spec is not None)


def _rendered(
    ctx: Context, message: ClaimedMessage, content: RenderedContent, recipient: str, *, track: bool
) -> Rendered:
    html = content.html
    headers: dict[str, str] = {}
    if track and message.source != "test":
        headers = links.list_unsubscribe_headers(ctx.settings, message.id)
        if html is not None:
            html = links.tracked_html(ctx.settings, html, message.id)
    to = recipient
    if message.channel == MessageChannel.WEBHOOK:
        to = str(content.data.get("url") or "")
        if not to:
            raise RenderError("the webhook template rendered no url")
    return Rendered(
        channel=message.channel,
        to=to,
        text=content.text,
        subject=content.subject,
        html=html,
        data=content.data,
        headers=headers,
    )


def _contacts(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each contact's fields with its properties merged in, and its company under `_company`."""
    if not ids:
        return {}
    table = Contact.__table__
    rows = session.execute(select(table).where(one_of(session, table.c.id, sorted(ids)))).mappings()
    contacts: dict[int, dict[str, Any]] = {}
    company_ids: set[int] = set()
    for row in rows:
        contact = {**(row["properties"] or {}), **{k: v for k, v in row.items() if k != "properties"}}
        contacts[row["id"]] = contact
        if row["company_id"] is not None:
            company_ids.add(row["company_id"])
    if company_ids:
        companies_table = Company.__table__
        companies = {
            row["id"]: {**(row["properties"] or {}), **{k: v for k, v in row.items() if k != "properties"}}
            for row in session.execute(
                select(companies_table).where(one_of(session, companies_table.c.id, sorted(company_ids)))
            ).mappings()
        }
        for contact in contacts.values():
            contact["_company"] = companies.get(contact["company_id"])
    return contacts
