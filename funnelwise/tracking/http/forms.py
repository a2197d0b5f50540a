"""Hosted forms: the public pages under /f/ and their management under /api/v1/forms."""

import json
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from funnelwise.api.deps import ContextDep, SessionDep, require
from funnelwise.api.errors import error_body
from funnelwise.contacts.schemas import Page
from funnelwise.context import Context
from funnelwise.errors import InvalidInput, NotFound
from funnelwise.messaging.consent import ConsentStatus, confirm_consent, consent_of_token
from funnelwise.tracking.forms import (
    FormIn,
    FormOut,
    SubmissionIn,
    SubmissionOut,
    SubmitResult,
    TooManySubmissions,
    create_form,
    delete_form,
    form_url,
    form_view,
    get_form,
    list_forms,
    list_submissions,
    submit_form,
    update_form,
)
from funnelwise.tracking.forms.definition import ANONYMOUS_ID, EMBEDDED, PAGE_URL, UTM_FIELDS
from funnelwise.tracking.forms.locale import Locale, preferred_locale, text
from funnelwise.tracking.forms.pages import (
    confirm_page,
    embed_script,
    form_page,
    message_page,
    top_redirect_page,
)

TRACKER_COOKIE = "fw_aid"
MAX_BODY_BYTES = 64 * 1024

public_router = APIRouter(prefix="/f", tags=["hosted forms"], include_in_schema=False)
router = APIRouter(prefix="/forms", tags=["forms"])
Read = Depends(require("tracking:read"))
Write = Depends(require("tracking:write"))


class _BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


# --- management ---------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(session: SessionDep, ctx: ContextDep, body: FormIn) -> FormOut:
    """Defines a form; it is live at `url` at once, and `embed_snippet` puts it on any page."""
    return create_form(session, ctx, body)


@router.get("", dependencies=[Read])
def search(session: SessionDep, ctx: ContextDep) -> list[FormOut]:
    return list_forms(session, ctx)


@router.get("/{slug}", dependencies=[Read])
def read(session: SessionDep, ctx: ContextDep, slug: str) -> FormOut:
    return get_form(session, ctx, slug)


@router.put("/{slug}", dependencies=[Write])
def replace(session: SessionDep, ctx: ContextDep, slug: str, body: FormIn) -> FormOut:
    """Replaces the form's definition (a new slug moves it); earlier submissions stay."""
    return update_form(session, ctx, slug, body)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, slug: str) -> Response:
    """Deletes the form and its submissions; the contacts, consents and events it made stay."""
    delete_form(session, slug)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{slug}/submissions", dependencies=[Read])
def submissions(
    session: SessionDep, slug: str, cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> Page[SubmissionOut]:
    """The form's submissions, newest first; pass `next_cursor` back for the next page."""
    return list_submissions(session, slug, cursor=cursor, limit=limit)


# --- public pages -------------------------------------------------------------------------------


@public_router.get("/confirm/{token}", response_class=HTMLResponse)
def confirmation_page(request: Request, ctx: ContextDep, token: str) -> HTMLResponse:
    """The link in a double opt-in mail: a page whose button confirms.

    Opening the link changes nothing, because mail scanners open links too; only the person's
    click (a POST) confirms.
    """
    locale = _locale(request)
    if consent_of_token(ctx.settings, token) is None:
        return _page(400, locale, "bad_link_title", text("bad_link", locale))
    page = confirm_page(
        locale, text("confirm_title", locale), text("confirm", locale), text("confirm_button", locale)
    )
    return HTMLResponse(page)


@public_router.post("/confirm/{token}", response_class=HTMLResponse)
def confirm(request: Request, session: SessionDep, ctx: ContextDep, token: str) -> HTMLResponse:
    """Confirms the email consent the token was signed for."""
    locale = _locale(request)
    consent_id = consent_of_token(ctx.settings, token)
    if consent_id is None:
        return _page(400, locale, "bad_link_title", text("bad_link", locale))
    try:
        consent = confirm_consent(session, ctx, consent_id, _ip(request))
    except NotFound:
        return _page(404, locale, "bad_link_title", text("gone_link", locale))
    if consent.status is ConsentStatus.REVOKED:
        return _page(410, locale, "bad_link_title", text("gone_link", locale))
    return _page(200, locale, "confirmed_title", text("confirmed", locale))


@public_router.get("/{slug}", response_class=HTMLResponse)
def show(request: Request, session: SessionDep, ctx: ContextDep, slug: str) -> HTMLResponse:
    """The hosted form; UTM parameters and the tracker's visitor id ride along in hidden fields."""
    try:
        form, fields = form_view(session, ctx, slug)
    except NotFound:
        return _not_found(_locale(request))
    query = request.query_params
    hidden = {name: query.get(name, "") for name in UTM_FIELDS}
    hidden[PAGE_URL] = query.get(PAGE_URL) or str(request.url)
    hidden[ANONYMOUS_ID] = query.get(ANONYMOUS_ID) or _tracker_cookie(request) or ""
    hidden[EMBEDDED] = "1" if query.get(EMBEDDED) == "1" else ""
    html = form_page(form, fields, action=request.url.path, hidden=hidden)
    return HTMLResponse(html)


@public_router.get("/{slug}/embed.js")
def embed(session: SessionDep, ctx: ContextDep, slug: str) -> Response:
    """A script that writes an iframe of the hosted form where it stands."""
    try:
        form = get_form(session, ctx, slug)
    except NotFound:
        return Response(f"/* no form {slug!r} */\n", 404, media_type="text/javascript")
    script = embed_script(form.slug, form_url(ctx.settings, form.slug), form.title or form.name)
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})


@public_router.post("/{slug}")
async def submit(request: Request, slug: str) -> Response:
    """A submission: form-encoded from the hosted page (answered in HTML) or JSON (answered in JSON)."""
    wants_json = request.headers.get("content-type", "").startswith("application/json")
    ctx: Context = request.app.state.context
    try:
        values = await _values(request, wants_json)
    except _BadBody as bad:
        if wants_json:
            return JSONResponse(error_body(f"body: {bad.message}", [_error("body", bad.message)]), bad.status)
        return _page(bad.status, _locale(request), "bad_request_title", bad.message)
    submission = SubmissionIn(
        values=values,
        ip=_ip(request),
        user_agent=request.headers.get("user-agent"),
        cookie_anonymous_id=_tracker_cookie(request),
    )
    try:
        result = await run_in_threadpool(_submit, request, ctx, slug, submission)
    except NotFound as exc:
        if wants_json:
            return JSONResponse(error_body(str(exc)), 404)
        return _not_found(_locale(request))
    except TooManySubmissions as exc:
        return await run_in_threadpool(_too_many, request, slug, exc, wants_json)
    except InvalidInput as exc:
        if wants_json:
            return JSONResponse(error_body(str(exc), [_error(e.field, e.message) for e in exc.errors]), 422)
        return await run_in_threadpool(_invalid, request, slug, values, exc)
    return _success(result, _text(values.get(EMBEDDED)) == "1", wants_json)


def _submit(request: Request, ctx: Context, slug: str, submission: SubmissionIn) -> SubmitResult:
    with request.app.state.sessionmaker.begin() as session:
        return submit_form(session, ctx, slug, submission)


async def _values(request: Request, wants_json: bool) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise _BadBody(413, f"larger than {MAX_BODY_BYTES // 1024} KB")
    if wants_json:
        try:
            values = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _BadBody(422, f"malformed JSON: {exc}") from None
        if not isinstance(values, dict):
            raise _BadBody(422, "expected a JSON object of input names and values")
        return values
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        raise _BadBody(415, "send application/x-www-form-urlencoded or application/json")
    form = await request.form(max_files=0, max_fields=200)
    values: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            continue
        # A repeated name (a group of checkboxes) collects its values in a list.
        values[name] = [*_as_list(values[name]), value] if name in values else value
    return values


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _success(result: SubmitResult, embedded: bool, wants_json: bool) -> Response:
    form = result.form
    redirect = str(form.redirect_url) if form.redirect_url else None
    paragraphs = [form.thank_you or text("thanks", form.locale)]
    if result.confirmation_pending:
        paragraphs.append(text("check_email", form.locale))
    if wants_json:
        return JSONResponse({"success": True, "message": " ".join(paragraphs), "redirect_url": redirect})
    if redirect and embedded:
        return HTMLResponse(top_redirect_page(form.locale, redirect))
    if redirect:
        return RedirectResponse(redirect, status_code=status.HTTP_303_SEE_OTHER)
    return HTMLResponse(message_page(form.locale, text("thanks_title", form.locale), *paragraphs))


def _too_many(request: Request, slug: str, exc: TooManySubmissions, wants_json: bool) -> Response:
    headers = {"Retry-After": str(exc.retry_after)}
    if wants_json:
        return JSONResponse(error_body(str(exc)), 429, headers=headers)
    locale = _form_locale(request, slug)
    html = message_page(locale, text("too_many_title", locale), text("too_many", locale))
    return HTMLResponse(html, 429, headers=headers)


def _invalid(request: Request, slug: str, values: Mapping[str, Any], exc: InvalidInput) -> HTMLResponse:
    """The form again, with what was entered and the error beside each field at fault."""
    ctx: Context = request.app.state.context
    with request.app.state.sessionmaker() as session:
        try:
            form, fields = form_view(session, ctx, slug)
        except NotFound:
            return _not_found(_locale(request))
    hidden = {name: _text(values.get(name)) for name in (*UTM_FIELDS, PAGE_URL, ANONYMOUS_ID, EMBEDDED)}
    errors = {error.field: error.message for error in exc.errors}
    html = form_page(form, fields, action=request.url.path, hidden=hidden, values=values, errors=errors)
    return HTMLResponse(html, 422)


def _form_locale(request: Request, slug: str) -> Locale:
    ctx: Context = request.app.state.context
    with request.app.state.sessionmaker() as session:
        try:
            return get_form(session, ctx, slug).locale
        except NotFound:
            return _locale(request)


def _page(status_code: int, locale: Locale, title_key: str, *paragraphs: str) -> HTMLResponse:
    return HTMLResponse(message_page(locale, text(title_key, locale), *paragraphs), status_code)


def _not_found(locale: Locale) -> HTMLResponse:
    return _page(404, locale, "not_found_title", text("not_found", locale))


def _locale(request: Request) -> Locale:
    return preferred_locale(request.headers.get("accept-language", ""))


def _tracker_cookie(request: Request) -> str | None:
    """The visitor id the web tracker keeps, percent-encoded, in its cookie."""
    value = request.cookies.get(TRACKER_COOKIE)
    return unquote(value) if value else None


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}
