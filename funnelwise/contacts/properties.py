"""Typed custom properties: their definitions and the checks every write goes through."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from funnelwise.errors import FieldError


class PropertyType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    MULTI_ENUM = "multi_enum"


class ObjectType(StrEnum):
    CONTACT = "contact"
    COMPANY = "company"


PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_STRING_LENGTH = 65_535
_TRUE = frozenset({"true", "yes", "y", "1", "on", "o", "예", "네", "참", "동의"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "x", "아니오", "아니요", "거짓", "미동의"})
_DATE_TEXT = re.compile(r"(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?|(\d{4})(\d{2})(\d{2})")


@dataclass(frozen=True)
class EnumOption:
    value: str
    label: str


@dataclass(frozen=True)
class PropertySpec:
    name: str
    type: PropertyType
    label: str = ""
    options: tuple[EnumOption, ...] = ()
    _by_text: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for option in self.options:
            self._by_text[option.value.casefold()] = option.value
            self._by_text[option.label.casefold()] = option.value

    def option_value(self, text: str) -> str | None:
        """The option a value or its label names, ignoring case."""
        return self._by_text.get(text.strip().casefold())


class PropertyCoercer:
    """Checks and converts custom property values against their definitions."""

    def __init__(self, specs: Iterable[PropertySpec], tz: ZoneInfo) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.tz = tz

    def clean(
        self, values: Mapping[str, Any], *, from_text: bool = False, prefix: str = "properties"
    ) -> tuple[dict[str, Any], list[FieldError]]:
        """Valid values converted to their stored form; an error for every other one."""
        cleaned: dict[str, Any] = {}
        errors: list[FieldError] = []
        for name, value in values.items():
            spec = self.specs.get(name)
            if spec is None:
                errors.append(FieldError(f"{prefix}.{name}", _unknown_message(name, self.specs)))
                continue
            if value is None or (from_text and isinstance(value, str) and not value.strip()):
                cleaned[name] = None
                continue
            try:
                cleaned[name] = self.coerce(spec, value, from_text=from_text)
            except ValueError as exc:
                errors.append(FieldError(f"{prefix}.{name}", str(exc)))
        return cleaned, errors

    def coerce(self, spec: PropertySpec, value: Any, *, from_text: bool) -> Any:
        converter = _CONVERTERS[spec.type]
        return converter(self, spec, value, from_text)

    def _string(self, _spec: PropertySpec, value: Any, from_text: bool) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {_describe(value)}")
        if len(value) > MAX_STRING_LENGTH:
            raise ValueError(f"text longer than {MAX_STRING_LENGTH} characters")
        if "\x00" in value:
            raise ValueError("text contains a NUL character")
        return value.strip() if from_text else value

    def _number(self, _spec: PropertySpec, value: Any, from_text: bool) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"expected a number, got {_describe(value)}")
        if isinstance(value, str):
            if not from_text:
                raise ValueError(f"expected a number, got text {value!r}")
            return _parse_number(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("expected a finite number")
        return value

    def _boolean(self, _spec: PropertySpec, value: Any, from_text: bool) -> bool:
        if isinstance(value, bool):
            return value
        if from_text and isinstance(value, str):
            word = value.strip().casefold()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise ValueError(f"expected true or false, got {_describe(value)}")

    def _date(self, _spec: PropertySpec, value: Any, _from_text: bool) -> str:
        if not isinstance(value, str):
            raise ValueError(f"expected a date such as '2026-03-01', got {_describe(value)}")
        return _parse_date(value).isoformat()

    def _datetime(self, _spec: PropertySpec, value: Any, _from_text: bool) -> str:
        if not isinstance(value, str):
            raise ValueError(
                f"expected a date-time such as '2026-03-01T09:30:00+09:00', got {_describe(value)}"
            )
        try:
            moment = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        except ValueError:
            raise ValueError(
                f"expected a date-time such as '2026-03-01T09:30:00+09:00', got {value!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        return moment.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")

    def _enum(self, spec: PropertySpec, value: Any, _from_text: bool) -> str:
        chosen = spec.option_value(value) if isinstance(value, str) else None
        if chosen is None:
            raise ValueError(f"{_describe(value)} is not one of {_option_list(spec)}")
        return chosen

    def _multi_enum(self, spec: PropertySpec, value: Any, from_text: bool) -> list[str]:
        if from_text and isinstance(value, str):
            value = [part for part in value.split(";") if part.strip()]
        if not isinstance(value, list):
            raise ValueError(f"expected a list of options, got {_describe(value)}")
        chosen: list[str] = []
        for item in value:
            option = spec.option_value(item) if isinstance(item, str) else None
            if option is None:
                raise ValueError(f"{_describe(item)} is not one of {_option_list(spec)}")
            if option not in chosen:
                chosen.append(option)
        return chosen


_CONVERTERS = {
    PropertyType.STRING: PropertyCoercer._string,
    PropertyType.NUMBER: PropertyCoercer._number,
    PropertyType.BOOLEAN: PropertyCoercer._boolean,
    PropertyType.DATE: PropertyCoercer._date,
    PropertyType.DATETIME: PropertyCoercer._datetime,
    PropertyType.ENUM: PropertyCoercer._enum,
    PropertyType.MULTI_ENUM: PropertyCoercer._multi_enum,
}


def _parse_number(text: str) -> int | float:
    cleaned = text.strip().replace(",", "").removesuffix("원").removeprefix("₩").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {text!r}")
    return int(number) if number == number.to_integral_value() else float(number)


def _parse_date(text: str) -> date:
    match = _DATE_TEXT.fullmatch(text.strip())
    if match:
        parts = match.groups()[:3] if match[1] else match.groups()[3:]
        try:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            pass
    raise ValueError(f"expected a date such as '2026-03-01', got {text!r}")


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"


def _option_list(spec: PropertySpec) -> str:
    return ", ".join(repr(option.value) for option in spec.options)


def _unknown_message(name: str, specs: Mapping[str, PropertySpec]) -> str:
    known = ", ".join(sorted(specs)) or "none yet"
    return f"unknown property {name!r}; define it first (known: {known})"
