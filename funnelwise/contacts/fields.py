"""The built-in contact fields, and turning raw input (JSON or CSV text) into clean values."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from funnelwise.contacts.job_levels import JobLevel, job_level_from_title
from funnelwise.contacts.normalize import normalize_email, normalize_phone
from funnelwise.contacts.properties import PropertyCoercer
from funnelwise.errors import FieldError


class LifecycleStage(StrEnum):
    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    EVANGELIST = "evangelist"
    OTHER = "other"
    DISQUALIFIED = "disqualified"


TEXT_FIELDS = ("user_id", "first_name", "last_name", "job_title")
ID_FIELDS = ("owner_id", "company_id")
CONTACT_FIELDS = (
    "email", "phone", *TEXT_FIELDS, "job_level", "lifecycle_stage", *ID_FIELDS, "timezone", "locale",
)  # fmt: skip
MAX_TEXT = 255
MAX_ID = 2**63 - 1

_STAGE_WORDS = {stage.value: stage.value for stage in LifecycleStage} | {
    "구독자": "subscriber", "리드": "lead", "고객": "customer", "기회": "opportunity",
    "옹호자": "evangelist", "기타": "other", "부적격": "disqualified",
}  # fmt: skip
_LEVEL_WORDS = {level.value: level.value for level in JobLevel} | {
    "사원": "staff", "실무자": "staff", "관리자": "manager", "중간관리자": "manager",
    "부서장": "head", "임원": "executive", "경영진": "executive",
}  # fmt: skip


@dataclass
class ContactDraft:
    """Clean values for one contact write: only the fields the input named."""

    fields: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    company_name: str | None = None
    owner_email: str | None = None


class ContactCleaner:
    """Validates and normalises contact input the same way for the API, imports and the CLI."""

    def __init__(self, coercer: PropertyCoercer, region: str) -> None:
        self.coercer = coercer
        self.region = region

    def clean(
        self, raw: Mapping[str, Any], *, from_text: bool = False
    ) -> tuple[ContactDraft, list[FieldError]]:
        draft = ContactDraft()
        errors: list[FieldError] = []
        for name, value in raw.items():
            if name == "properties":
                continue
            if from_text and isinstance(value, str):
                value = value.strip() or None
                if value is None:
                    continue
            try:
                self._clean_field(draft, name, value)
            except ValueError as exc:
                errors.append(FieldError(name, str(exc)))
        if "job_level" not in draft.fields and draft.fields.get("job_title"):
            level = job_level_from_title(draft.fields["job_title"])
            draft.fields["job_level"] = level.value if level else None
        properties = raw.get("properties") or {}
        if not isinstance(properties, Mapping):
            errors.append(FieldError("properties", "expected an object of property values"))
        else:
            draft.properties, property_errors = self.coercer.clean(properties, from_text=from_text)
            errors.extend(property_errors)
        return draft, errors

    def _clean_field(self, draft: ContactDraft, name: str, value: Any) -> None:
        if name == "company":
            draft.company_name = _text(value)
        elif name == "owner":
            draft.owner_email = normalize_email(_text(value) or "") if value else None
        elif name not in CONTACT_FIELDS:
            raise ValueError(f"unknown field; expected one of {', '.join(CONTACT_FIELDS)}")
        else:
            draft.fields[name] = None if value is None else self._clean_value(name, value)

    def _clean_value(self, name: str, value: Any) -> Any:
        if name in ID_FIELDS:
            return _identifier(value)
        text = _text(value)
        match name:
            case "email":
                return normalize_email(text)
            case "phone":
                return normalize_phone(text, self.region)
            case "job_level":
                return _choice(text, _LEVEL_WORDS, "job level")
            case "lifecycle_stage":
                return _choice(text, _STAGE_WORDS, "lifecycle stage")
            case "timezone":
                return _timezone(text)
            case "locale":
                return _locale(text)
        return text


def _text(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise ValueError(f"longer than {MAX_TEXT} characters")
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


def _identifier(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValueError(f"expected a positive whole number id, got {value!r}")
    return value


def _choice(text: str, words: Mapping[str, str], what: str) -> str:
    chosen = words.get(text.strip().casefold())
    if chosen is None:
        allowed = ", ".join(dict.fromkeys(words.values()))
        raise ValueError(f"unknown {what} {text!r}; expected one of {allowed}")
    return chosen


def _timezone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {text!r}; expected an IANA name such as 'Asia/Seoul'") from None
    return text


def _locale(text: str) -> str:
    try:
        locale = Locale.parse(text.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"unknown locale {text!r}; expected a tag such as 'ko-KR' or 'en'") from None
    return "-".join(part for part in (locale.language, locale.script, locale.territory) if part)
