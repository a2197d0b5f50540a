"""From claimed rows to deliveries: templates, contacts, the policy's decisions and rendering.

Everything here reads; nothing is written until the providers have answered.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
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
from funnelwise.messaging.message import SYSTEM_PREFIX, Delivery, MessageChannel, Purpose, Rendered
from funnelwise.messaging.policy import Decision, Go, Policy
from funnelwise.messaging.templates.render import (
    RenderedContent,
    RenderError,
    TemplateSpec,
    load_templates,
    render,
)

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
    prepared = Prepared(messages=list(claimed))
    for message in claimed:
        failure = _with_template(message, templates)
        if failure is not None:
            prepared.failures[message.id] = failure
    contacts, companies = _contacts(session, {m.contact_id for m in prepared.messages})
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
            contact = contacts[message.contact_id]
            rendered = _render(ctx, message, spec, contact, companies.get(message.contact_id), decision)
        except (RenderError, compliance.ComplianceError) as exc:
            prepared.failures[message.id] = str(exc)
            continue
        prepared.deliveries[message.id] = Delivery(message.id, message.idempotency_key, rendered)
    return prepared


def _with_template(message: ClaimedMessage, templates: dict[str, TemplateSpec]) -> str | None:
    """Fills in the template's purpose and topic; why the message cannot be rendered, if so."""
    name = stored_template(message)
    if name is None:
        message.purpose = Purpose.INFORMATIONAL.value
        message.topic = message.topic or SYSTEM_TOPIC
        return None
    spec = templates.get(name)
    if spec is None:
        return f"unknown template '{name}'"
    message.purpose = message.purpose or spec.purpose.value
    message.topic = message.topic or spec.topic
    if spec.channel != message.channel and name == message.template:
        return f"template '{spec.name}' is for channel '{spec.channel}', not '{message.channel}'"
    return None


def _render(
    ctx: Context,
    message: ClaimedMessage,
    spec: TemplateSpec | None,
    contact: dict[str, Any],
    company: dict[str, Any] | None,
    go: Go,
) -> Rendered:
    settings = ctx.settings
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
    tracked = unsubscribe if spec is not None else None
    return _rendered(ctx, message, content, go.recipient, unsubscribe=tracked)


def _rendered(
    ctx: Context,
    message: ClaimedMessage,
    content: RenderedContent,
    recipient: str,
    *,
    unsubscribe: str | None,
) -> Rendered:
    """`unsubscribe` is given for an email whose links are tracked and which carries the headers."""
    html = content.html
    headers: dict[str, str] = {}
    if unsubscribe is not None and message.source != "test":
        headers = links.list_unsubscribe_headers(ctx.settings, message.id, unsubscribe)
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


def _contacts(session: Session, ids: set[int]) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Each contact's fields with its properties merged in, and each contact's company the same way."""
    if not ids:
        return {}, {}
    table = Contact.__table__
    rows = session.execute(select(table).where(one_of(session, table.c.id, sorted(ids)))).mappings()
    contacts = {row["id"]: _merged(row) for row in rows}
    company_ids = {
        contact["company_id"] for contact in contacts.values() if contact["company_id"] is not None
    }
    if not company_ids:
        return contacts, {}
    companies_table = Company.__table__
    by_id = {
        row["id"]: _merged(row)
        for row in session.execute(
            select(companies_table).where(one_of(session, companies_table.c.id, sorted(company_ids)))
        ).mappings()
    }
    companies = {
        contact_id: by_id[contact["company_id"]]
        for contact_id, contact in contacts.items()
        if contact["company_id"] in by_id
    }
    return contacts, companies


def _merged(row: Any) -> dict[str, Any]:
    """A row's properties with its own columns laid over them (a property cannot hide a field)."""
    merged = dict(row["properties"] or {})
    merged.update(row)
    del merged["properties"]
    return merged
