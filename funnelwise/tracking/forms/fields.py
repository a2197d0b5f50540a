"""A form's fields as the hosted page asks them: label, input kind and options, in the form's locale."""

import logging
from dataclasses import dataclass

from funnelwise.contacts.properties import EnumOption, PropertySpec
from funnelwise.tracking.forms.definition import CONTACT_TARGETS, FormIn, input_kind
from funnelwise.tracking.forms.locale import field_label

logger = logging.getLogger(__name__)

_AUTOCOMPLETE = {
    "email": "email",
    "phone": "tel",
    "first_name": "given-name",
    "last_name": "family-name",
    "name": "name",
    "job_title": "organization-title",
    "company": "organization",
}


@dataclass(frozen=True)
class AskedField:
    name: str
    target: str
    label: str
    required: bool
    placeholder: str | None
    kind: str
    options: tuple[EnumOption, ...]
    autocomplete: str | None
    is_property: bool


def asked_fields(form: FormIn, specs: dict[str, PropertySpec]) -> list[AskedField]:
    """The fields to ask; one whose property was deleted since is left out rather than failing the page."""
    asked = []
    for field in form.fields:
        target = field.target_name
        spec = None if target in CONTACT_TARGETS else specs.get(target)
        if target not in CONTACT_TARGETS and spec is None:
            logger.warning(
                "form %r: field %r targets the undefined property %r", form.slug, field.name, target
            )
            continue
        label = field.label or field_label(target, form.locale) or (spec.label if spec else field.name)
        asked.append(
            AskedField(
                name=field.name,
                target=target,
                label=label,
                required=field.required,
                placeholder=field.placeholder,
                kind=input_kind(target, spec),
                options=spec.options if spec else (),
                autocomplete=_AUTOCOMPLETE.get(target),
                is_property=spec is not None,
            )
        )
    return asked
