"""Hosted lead-capture forms: definitions, the hosted page, submissions, consent and double opt-in."""

from funnelwise.tracking.forms.definition import FormIn
from funnelwise.tracking.forms.service import (
    FormOut,
    SubmissionOut,
    create_form,
    delete_form,
    embed_snippet,
    form_url,
    form_view,
    get_form,
    list_forms,
    list_submissions,
    update_form,
)
from funnelwise.tracking.forms.submit import SubmissionIn, SubmitResult, TooManySubmissions, submit_form

__all__ = [
    "FormIn",
    "FormOut",
    "SubmissionIn",
    "SubmissionOut",
    "SubmitResult",
    "TooManySubmissions",
    "create_form",
    "delete_form",
    "embed_snippet",
    "form_url",
    "form_view",
    "get_form",
    "list_forms",
    "list_submissions",
    "submit_form",
    "update_form",
]
