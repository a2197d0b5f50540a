"""A visitor submits a form: spam checks, validation, the contact, consents, the log."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.contacts.fields import ContactCleaner
from funnelwise.contacts.service import make_cleaner
from funnelwise.context import Context
from funnelwise.errors import DomainError, FieldError, InvalidInput
from funnelwise.messaging.consent import ConsentGrant, ConsentStatus, grant_consent
from funnelwise.tracking.forms.definition import (
    ANONYMOUS_ID,
    HONEYPOT,
    PAGE_URL,
    UTM_FIELDS,
    ConsentDef,
    FormIn,
)
from funnelwise.tracking.forms.fields import AskedField, asked_fields
from funnelwise.tracking.forms.locale import Locale, text
from funnelwise.tracking.forms.optin import request_confirmation
from funnelwise.tracking.forms.service import definition_of, load_form
from funnelwise.tracking.identity import Profiles, identify_contact, join
from funnelwise.tracking.log import record_event
from funnelwise.tracking.models import FormSubmission

RATE_WINDOW = timedelta(minutes=1)
MAX_HIDDEN_LENGTH = 2048
_TICKED = frozenset({"yes", "on", "true", "1", "y"})


class TooManySubmissions(DomainError):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many submissions from this address; retry in {retry_after} seconds")


@dataclass(frozen=True)
class SubmissionIn:
    """What the visitor sent: input names to values (text, lists of text, or JSON values)."""

    values: Mapping[str, Any]
    ip: str | None = None
    user_agent: str | None = None
    # The tracker's `fw_aid` cookie, when the browser sent it to us.
    cookie_anonymous_id: str | None = None


@dataclass
class SubmitResult:
    form: FormIn
    # None for a filled honeypot: answered like a success, nothing stored.
    contact_id: int | None = None
    confirmation_pending: bool = False


def submit_form(session: Session, ctx: Context, slug: str, submission: SubmissionIn) -> SubmitResult:
    """Stores one submission; raises InvalidInput naming each input at fault, or TooManySubmissions."""
    row = load_form(session, slug)
    form = definition_of(row)
    _check_rate(session, ctx, form, submission.ip)
    values = submission.values
    ticked = [consent for consent in form.consents if _is_ticked(values.get(consent.input_name))]
    if _text(values.get(HONEYPOT)):
        return SubmitResult(form, confirmation_pending=any(consent.double_opt_in for consent in ticked))
    cleaner = make_cleaner(session, ctx)
    fields = asked_fields(form, cleaner.coercer.specs)
    answers, errors = _clean(fields, values, cleaner, form.locale)
    errors += [
        FieldError(c.input_name, text("error.consent", form.locale))
        for c in form.consents
        if c.required and c not in ticked
    ]
    if errors:
        raise InvalidInput(errors)
    traits = {f.target: answers[f.name] for f in fields if answers.get(f.name) is not None}
    anonymous_id = (_text(values.get(ANONYMOUS_ID)) or _text(submission.cookie_anonymous_id))[:255]
    # Visitor first, then contact: the order the ingest path locks in, so the two never deadlock.
    profiles = Profiles.lock(session, ctx, [anonymous_id] if anonymous_id else [])
    contact_id = identify_contact(session, ctx, cleaner, None, traits, [])
    assert contact_id is not None, "validation guarantees an email or a phone"
    if anonymous_id:
        join(session, profiles, anonymous_id, contact_id)
    result = SubmitResult(form, contact_id=contact_id)
    for consent in ticked:
        granted = grant_consent(session, ctx, contact_id, _grant(form, consent, submission.ip))
        if granted.status is ConsentStatus.PENDING:
            request_confirmation(session, ctx, form, granted, traits["email"])
            result.confirmation_pending = True
    answers |= {consent.input_name: True for consent in ticked}
    _record(session, ctx, row.id, form, contact_id, answers, submission)
    return result


def _record(
    session: Session,
    ctx: Context,
    form_id: int,
    form: FormIn,
    contact_id: int,
    answers: dict[str, Any],
    submission: SubmissionIn,
) -> None:
    """The submission row (answers and hidden fields) and its "Form Submitted" event."""
    hidden = {
        name: _text(submission.values.get(name))[:MAX_HIDDEN_LENGTH] for name in (*UTM_FIELDS, PAGE_URL)
    }
    hidden = {name: value for name, value in hidden.items() if value}
    stored = FormSubmission(
        form_id=form_id,
        contact_id=contact_id,
        answers={**answers, **hidden},
        ip=submission.ip,
        user_agent=(submission.user_agent or "")[:512] or None,
        created_at=ctx.clock.now(),
    )
    session.add(stored)
    session.flush()
    properties = {
        "form": form.slug,
        "form_name": form.name,
        "answers": answers,
        **{name: hidden[name] for name in UTM_FIELDS if name in hidden},
        "page_url": hidden.get(PAGE_URL),
    }
    record_event(session, ctx, contact_id, "Form Submitted", properties, message_id=f"fw-form-{stored.id}")


def _check_rate(session: Session, ctx: Context, form: FormIn, ip: str | None) -> None:
    """Counts this address's submissions to any form in the last minute, in the database."""
    if ip is None:
        return
    since = ctx.clock.now() - RATE_WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(FormSubmission.created_at)).where(
            FormSubmission.ip == ip, FormSubmission.created_at > since
        )
    ).one()
    if count >= form.rate_limit_per_minute:
        wait = (oldest + RATE_WINDOW - ctx.clock.now()).total_seconds()
        raise TooManySubmissions(max(1, math.ceil(wait)))


def _clean(
    fields: list[AskedField], values: Mapping[str, Any], cleaner: ContactCleaner, locale: Locale
) -> tuple[dict[str, Any], list[FieldError]]:
    answers: dict[str, Any] = {}
    errors: list[FieldError] = []
    for asked in fields:
        raw = values.get(asked.name)
        if asked.kind == "checkboxes" and isinstance(raw, str):
            raw = [raw]
        if _is_empty(raw) or (asked.kind == "checkbox" and raw is False):
            if asked.required:
                errors.append(FieldError(asked.name, text("error.required", locale)))
            continue
        try:
            answers[asked.name] = _clean_value(asked, raw, cleaner)
        except ValueError as exc:
            errors.append(FieldError(asked.name, _message(asked, str(exc), locale)))
    if not errors and not any(answers.get(f.name) for f in fields if f.target in ("email", "phone")):
        first = next(f for f in fields if f.target in ("email", "phone"))
        errors.append(FieldError(first.name, text("error.contact", locale)))
    return answers, errors


def _clean_value(asked: AskedField, raw: Any, cleaner: ContactCleaner) -> Any:
    """The value as it will be stored, checked the way the contacts API checks it."""
    if asked.is_property:
        cleaned, errors = cleaner.coercer.clean({asked.target: raw}, from_text=True)
        if errors:
            raise ValueError(errors[0].message)
        return cleaned[asked.target]
    if asked.target == "name":
        return _full_name(raw)
    draft, errors = cleaner.clean({asked.target: raw}, from_text=True)
    if errors:
        raise ValueError(errors[0].message)
    return draft.company_name if asked.target == "company" else draft.fields[asked.target]


def _full_name(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("expected text")
    name = " ".join(raw.split())
    if len(name) > 255:
        raise ValueError("longer than 255 characters")
    return name


def _message(asked: AskedField, detail: str, locale: Locale) -> str:
    if asked.target in ("email", "phone"):
        return text(f"error.{asked.target}", locale)
    if asked.kind in ("select", "checkboxes"):
        return text("error.choice", locale)
    return f"{text('error.invalid', locale)} ({detail})"


def _grant(form: FormIn, consent: ConsentDef, ip: str | None) -> ConsentGrant:
    return ConsentGrant(
        channel=consent.channel,
        topic=consent.topic,
        wording=consent.wording,
        version=consent.version,
        source=f"form:{form.slug}",
        ip=ip,
        double_opt_in=consent.double_opt_in,
    )


def _is_ticked(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in _TICKED)


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
