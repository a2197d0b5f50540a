"""Form definitions: create, read, update, delete; their submissions; the snippet that embeds them."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.config import Settings
from funnelwise.contacts.pagination import decode_cursor, encode_cursor
from funnelwise.contacts.properties import ObjectType
from funnelwise.contacts.property_definitions import load_coercer
from funnelwise.contacts.schemas import Page
from funnelwise.context import Context
from funnelwise.db.savepoints import write_or_undo
from funnelwise.errors import Conflict, InvalidInput, NotFound
from funnelwise.tracking.forms.definition import FormIn, check_definition
from funnelwise.tracking.forms.fields import AskedField, asked_fields
from funnelwise.tracking.models import Form, FormSubmission


class FormOut(FormIn):
    id: int
    url: str
    embed_snippet: str
    created_at: datetime
    updated_at: datetime


class SubmissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int | None
    answers: dict[str, Any]
    ip: str | None
    user_agent: str | None
    created_at: datetime


def create_form(session: Session, ctx: Context, data: FormIn) -> FormOut:
    _check(session, ctx, data)
    now = ctx.clock.now()
    form = Form(slug=data.slug, name=data.name, definition=_stored(data), created_at=now, updated_at=now)
    _write(session, data.slug, lambda: session.add(form))
    return form_out(ctx.settings, form)


def update_form(session: Session, ctx: Context, slug: str, data: FormIn) -> FormOut:
    """Replaces the definition; a new slug moves the form's address."""
    form = load_form(session, slug)
    _check(session, ctx, data)

    def write() -> None:
        form.slug, form.name, form.definition = data.slug, data.name, _stored(data)
        form.updated_at = ctx.clock.now()

    _write(session, data.slug, write)
    return form_out(ctx.settings, form)


def get_form(session: Session, ctx: Context, slug: str) -> FormOut:
    return form_out(ctx.settings, load_form(session, slug))


def list_forms(session: Session, ctx: Context) -> list[FormOut]:
    return [form_out(ctx.settings, form) for form in session.scalars(select(Form).order_by(Form.slug))]


def delete_form(session: Session, slug: str) -> None:
    """Deletes the form and its submissions; contacts, consents and events stay."""
    session.delete(load_form(session, slug))
    session.flush()


def list_submissions(
    session: Session, slug: str, *, cursor: str | None = None, limit: int = 50
) -> Page[SubmissionOut]:
    """The form's submissions, newest first."""
    form = load_form(session, slug)
    query = select(FormSubmission).where(FormSubmission.form_id == form.id)
    if cursor:
        query = query.where(FormSubmission.id < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(FormSubmission.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(results=[SubmissionOut.model_validate(r) for r in rows[:limit]], next_cursor=next_cursor)


def load_form(session: Session, slug: str) -> Form:
    form = session.scalar(select(Form).where(Form.slug == slug))
    if form is None:
        raise NotFound("form", slug)
    return form


def definition_of(form: Form) -> FormIn:
    return FormIn.model_validate({**form.definition, "slug": form.slug, "name": form.name})


def form_url(settings: Settings, slug: str) -> str:
    return f"{settings.public_url.rstrip('/')}/f/{slug}"


def embed_snippet(settings: Settings, slug: str) -> str:
    """The HTML a site pastes where the form should appear."""
    url = form_url(settings, slug)
    return f'<script src="{url}/embed.js"></script>\n<noscript><a href="{url}">{url}</a></noscript>'


def form_out(settings: Settings, form: Form) -> FormOut:
    return FormOut(
        **definition_of(form).model_dump(),
        id=form.id,
        url=form_url(settings, form.slug),
        embed_snippet=embed_snippet(settings, form.slug),
        created_at=form.created_at,
        updated_at=form.updated_at,
    )


def _check(session: Session, ctx: Context, data: FormIn) -> None:
    errors = check_definition(data, load_coercer(session, ctx, ObjectType.CONTACT).specs)
    if errors:
        raise InvalidInput(errors)


def _stored(data: FormIn) -> dict[str, Any]:
    return data.model_dump(mode="json", exclude={"slug", "name"})


def _write(session: Session, slug: str, write: Callable[[], None]) -> None:
    if not write_or_undo(session, write):
        raise Conflict("slug", f"a form with the slug {slug!r} exists already")


def form_view(session: Session, ctx: Context, slug: str) -> tuple[FormIn, list[AskedField]]:
    """The definition and the fields the hosted page asks, as of now."""
    form = definition_of(load_form(session, slug))
    return form, asked_fields(form, load_coercer(session, ctx, ObjectType.CONTACT).specs)
