"""What a form is: its fields and the contact data they fill, its consent boxes, what follows a submit."""

from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from funnelwise.contacts.properties import PropertySpec, PropertyType
from funnelwise.errors import FieldError
from funnelwise.messaging.consent import TOPIC_PATTERN, Channel

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
# Contact fields a form may fill; `name` is a full name, split into first and last.
CONTACT_TARGETS = ("email", "phone", "first_name", "last_name", "name", "job_title", "company")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
HONEYPOT = "website"
ANONYMOUS_ID = "fw_anonymous_id"
PAGE_URL = "page_url"
EMBEDDED = "embed"
HIDDEN_FIELDS = (*UTM_FIELDS, PAGE_URL, ANONYMOUS_ID, EMBEDDED)
RESERVED_NAMES = frozenset({*HIDDEN_FIELDS, HONEYPOT})
# `/f/confirm/<token>` confirms consents, so no form may be called that.
RESERVED_SLUGS = frozenset({"confirm"})
DEFAULT_RATE_LIMIT = 10

ShortText = Annotated[str, Field(min_length=1, max_length=255)]


class FieldDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=FIELD_NAME_PATTERN, description="The input's name in the form and in answers")
    target: str | None = Field(
        default=None,
        description=f"A contact field ({', '.join(CONTACT_TARGETS)}) or a custom property [default: name]",
    )
    label: ShortText | None = Field(default=None, description="[default: the field's name in the locale]")
    required: bool = False
    placeholder: ShortText | None = None

    @property
    def target_name(self) -> str:
        return self.target or self.name


class ConsentDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    topic: str = Field(pattern=TOPIC_PATTERN, description="newsletter, product_news, promotions or any slug")
    wording: str = Field(min_length=1, max_length=2000, description="The text beside the checkbox, recorded")
    version: ShortText
    required: bool = False
    double_opt_in: bool = Field(default=False, description="Email only: pending until the emailed link")

    @property
    def input_name(self) -> str:
        return f"consent:{self.channel.value}:{self.topic}"

    @model_validator(mode="after")
    def _double_opt_in_by_email(self) -> "ConsentDef":
        if self.double_opt_in and self.channel is not Channel.EMAIL:
            raise ValueError("double_opt_in works for the email channel only")
        return self


class FormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, description="The form's address: /f/<slug>")
    name: ShortText
    locale: Literal["ko", "en"] = "ko"
    title: ShortText | None = Field(default=None, description="The heading [default: the name]")
    description: str | None = Field(default=None, max_length=2000)
    submit_label: ShortText | None = None
    fields: list[FieldDef] = Field(min_length=1, max_length=50)
    consents: list[ConsentDef] = Field(default_factory=list, max_length=20)
    thank_you: str | None = Field(default=None, max_length=2000, description="Shown after a submit")
    redirect_url: AnyHttpUrl | None = Field(default=None, description="Where to send people after a submit")
    rate_limit_per_minute: int = Field(
        default=DEFAULT_RATE_LIMIT,
        ge=1,
        le=10_000,
        description="Submissions one IP address may make a minute",
    )


def check_definition(form: FormIn, specs: dict[str, PropertySpec]) -> list[FieldError]:
    """What the shape alone cannot say: unique names, known targets, an address for double opt-in."""
    errors: list[FieldError] = []
    if form.slug in RESERVED_SLUGS:
        errors.append(FieldError("slug", f"{form.slug!r} is reserved"))
    seen: set[str] = set()
    for index, field in enumerate(form.fields):
        if field.name in RESERVED_NAMES:
            errors.append(
                FieldError(f"fields.{index}.name", f"{field.name!r} is reserved for a hidden field")
            )
        elif field.name in seen:
            errors.append(FieldError(f"fields.{index}.name", f"another field is named {field.name!r}"))
        seen.add(field.name)
        if field.target_name not in CONTACT_TARGETS and field.target_name not in specs:
            known = ", ".join([*CONTACT_TARGETS, *sorted(specs)])
            errors.append(
                FieldError(
                    f"fields.{index}.target",
                    f"{field.target_name!r} is neither a contact field nor a defined property; known: {known}",
                )
            )
    targets = [field.target_name for field in form.fields]
    if "email" not in targets and "phone" not in targets:
        errors.append(FieldError("fields", "a form needs a field whose target is email or phone"))
    consents: set[str] = set()
    for index, consent in enumerate(form.consents):
        if consent.input_name in consents:
            errors.append(FieldError(f"consents.{index}", f"{consent.input_name!r} is asked twice"))
        consents.add(consent.input_name)
        if consent.double_opt_in and not any(f.target_name == "email" and f.required for f in form.fields):
            errors.append(
                FieldError(f"consents.{index}.double_opt_in", "needs a required field whose target is email")
            )
    return errors


def input_kind(target: str, spec: PropertySpec | None) -> str:
    """How the hosted page asks for a value: an <input> type, or select / checkboxes."""
    if target == "email":
        return "email"
    if target == "phone":
        return "tel"
    if spec is None:
        return "text"
    return {
        PropertyType.NUMBER: "number",
        PropertyType.BOOLEAN: "checkbox",
        PropertyType.DATE: "date",
        PropertyType.DATETIME: "datetime-local",
        PropertyType.ENUM: "select",
        PropertyType.MULTI_ENUM: "checkboxes",
    }.get(spec.type, "text")
