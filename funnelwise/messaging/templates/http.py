"""/api/v1/templates: message templates; a preview for a chosen contact and a test send."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response, status

from funnelwise.api.deps import ContextDep, SessionDep, require
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.templates.preview import (
    PreviewIn,
    PreviewOut,
    SendTestIn,
    SendTestOut,
    preview_template,
    send_test,
)
from funnelwise.messaging.templates.store import (
    TemplateOut,
    TemplateSaved,
    apply_template,
    create_template,
    delete_template,
    get_template,
    list_templates,
)

router = APIRouter(prefix="/templates", tags=["messaging"])
Read = Depends(require("messaging:read"))
Write = Depends(require("messaging:write"))
# Checked by the service, so a bad node is named by its path (`locales.ko.html`).
Definition = Body(..., description="A template: name, channel, purpose, topic, default_locale, locales")
NamePath = Annotated[str, Path(min_length=1, max_length=255, description="The template's name (or id)")]


@router.get("", dependencies=[Read])
def index(session: SessionDep, channel: MessageChannel | None = None) -> list[TemplateOut]:
    """Every template by name, optionally of one channel."""
    return list_templates(session, channel)


@router.get("/{name}", dependencies=[Read])
def read(session: SessionDep, name: NamePath) -> TemplateOut:
    return get_template(session, name)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, definition: dict[str, Any] = Definition) -> TemplateOut:
    """Creates a template: 422 naming each problem (a Jinja error with its line), 409 when the name is taken."""
    return create_template(session, ctx, definition)


@router.put("/{name}", dependencies=[Write])
def replace(
    session: SessionDep,
    ctx: ContextDep,
    response: Response,
    name: NamePath,
    definition: dict[str, Any] = Definition,
) -> TemplateSaved:
    """Creates (201) or replaces (200) the template of this name."""
    saved = apply_template(session, ctx, definition, name=name)
    response.status_code = status.HTTP_201_CREATED if saved.created else status.HTTP_200_OK
    return saved


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, name: NamePath) -> None:
    delete_template(session, name)


@router.post("/{name}/preview", dependencies=[Read])
def preview(session: SessionDep, ctx: ContextDep, name: NamePath, body: PreviewIn) -> PreviewOut:
    """The template rendered for a contact (in `locale` when given) with extra `variables`."""
    return preview_template(session, ctx, name, body)


@router.post("/{name}/test", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def test(session: SessionDep, ctx: ContextDep, name: NamePath, body: SendTestIn) -> SendTestOut:
    """Queues a test send to the contact (or to `to`); the sender delivers it like any message."""
    return send_test(session, ctx, name, body)
