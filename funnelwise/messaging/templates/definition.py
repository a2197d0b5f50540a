"""A template definition as written in YAML or JSON, and what each channel's locale holds."""

from typing import Annotated, Any

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic_core import ErrorDetails

from funnelwise.errors import FieldError, InvalidInput
from funnelwise.messaging.message import MessageChannel, Purpose

TOPIC_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Topic = Annotated[str, StringConstraints(pattern=TOPIC_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1)]
# Kakao buttons and push data are flat mappings whose text values are templates.
Strings = dict[str, Any]

# The topic a template is sent under when its definition names none.
DEFAULT_TOPIC = {Purpose.ADVERTISING: "promotions", Purpose.INFORMATIONAL: "service"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmailContent(_Strict):
    """`subject` and `html` and/or `text`; without `text` the plain part is derived from the HTML."""

    subject: Text
    html: Text | None = None
    text: Text | None = None

    @model_validator(mode="after")
    def _a_body(self) -> "EmailContent":
        if self.html is None and self.text is None:
            raise ValueError("an email needs 'html' or 'text' (or both)")
        return self


class SmsContent(_Strict):
    """`text`; a `title` makes it an LMS."""

    text: Text
    title: str | None = None


class KakaoContent(_Strict):
    """AlimTalk: the approved template's code, its text as approved, optional variables and buttons."""

    template_code: Text
    text: Text
    variables: dict[str, str] = Field(default_factory=dict)
    buttons: list[Strings] = Field(default_factory=list)


class KakaoBrandContent(_Strict):
    text: Text
    buttons: list[Strings] = Field(default_factory=list)
    image_url: str | None = None


class PushContent(_Strict):
    title: Text
    text: Text
    url: str | None = None
    data: dict[str, str] = Field(default_factory=dict)


class WebhookContent(_Strict):
    """The URL and a JSON object whose text values are templates."""

    url: Text
    payload: dict[str, Any]


CONTENT: dict[MessageChannel, type[_Strict]] = {
    MessageChannel.EMAIL: EmailContent,
    MessageChannel.SMS: SmsContent,
    MessageChannel.KAKAO: KakaoContent,
    MessageChannel.KAKAO_BRAND: KakaoBrandContent,
    MessageChannel.PUSH: PushContent,
    MessageChannel.WEBHOOK: WebhookContent,
}


class TemplateIn(_Strict):
    """A template as the API and the CLI take it; `locales` maps a tag ("ko", "en-US") to content."""

    name: Name
    channel: MessageChannel
    purpose: Purpose
    topic: Topic | None = None
    default_locale: str = "ko"
    description: str | None = None
    locales: dict[str, dict[str, Any]]


def read_template(data: Any) -> tuple[TemplateIn, dict[str, dict[str, Any]]]:
    """The definition and each locale's content checked for its channel, keyed by normalised tag.

    `InvalidInput` names every problem by its path (`locales.ko.subject`).
    """
    if not isinstance(data, dict):
        raise InvalidInput.single("template", "expected a mapping with name, channel, purpose and locales")
    try:
        template = TemplateIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput([_field_error(error) for error in exc.errors()]) from None
    errors: list[FieldError] = []
    if template.channel == MessageChannel.KAKAO and template.purpose == Purpose.ADVERTISING:
        errors.append(
            FieldError(
                "purpose",
                "a kakao (AlimTalk) template is informational only, by law; advertise on kakao_brand instead",
            )
        )
    if not template.locales:
        errors.append(FieldError("locales", "a template needs at least one locale"))
    contents: dict[str, dict[str, Any]] = {}
    model = CONTENT[template.channel]
    for tag, content in template.locales.items():
        locale = normalize_locale(tag)
        if locale is None:
            errors.append(
                FieldError(
                    f"locales.{tag}", f"unknown locale {tag!r}; expected a tag such as 'ko' or 'en-US'"
                )
            )
            continue
        if locale in contents:
            errors.append(FieldError(f"locales.{tag}", f"the locale {locale!r} is given twice"))
            continue
        try:
            contents[locale] = model.model_validate(content).model_dump(exclude_none=True)
        except ValidationError as exc:
            errors.extend(_field_error(error, f"locales.{tag}") for error in exc.errors())
    default = normalize_locale(template.default_locale)
    if template.locales and (default is None or default not in contents) and not errors:
        errors.append(
            FieldError(
                "default_locale",
                f"{template.default_locale!r} is not among the locales ({', '.join(contents)})",
            )
        )
    if errors:
        raise InvalidInput(errors)
    assert default is not None
    topic = template.topic or DEFAULT_TOPIC[template.purpose]
    return template.model_copy(update={"default_locale": default, "topic": topic}), contents


def normalize_locale(tag: str) -> str | None:
    """ "ko_kr" → "ko-KR", "EN" → "en"; None for what is no locale."""
    try:
        locale = Locale.parse(tag.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)


def _field_error(error: ErrorDetails, under: str = "") -> FieldError:
    parts: list[str] = [under] if under else []
    for part in error["loc"]:
        if isinstance(part, int) and parts:
            parts[-1] = f"{parts[-1]}[{part}]"
        else:
            parts.append(str(part))
    path = ".".join(parts) or "template"
    name = str(error["loc"][-1]) if error["loc"] else ""
    match error["type"]:
        case "enum":
            expected = error.get("ctx", {}).get("expected", "")
            return FieldError(path, f"unknown {name} {error['input']!r}; expected one of {expected}")
        case "extra_forbidden":
            return FieldError(path, f"unknown key {name!r}")
        case "missing":
            return FieldError(path, f"missing {name!r}")
        case "string_pattern_mismatch" if name == "topic":
            return FieldError(
                path, f"{error['input']!r} is not a topic: lower-case letters, digits, '_' and '-'"
            )
        case "value_error":
            return FieldError(path or under, str(error.get("ctx", {}).get("error", error["msg"])))
    return FieldError(path, error["msg"])
