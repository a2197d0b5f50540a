"""The filters templates use: fallbacks, KRW amounts, numbers, Korean and English dates, phone numbers.

A missing value (undefined, None, "") renders empty, or the fallback; a value a filter cannot read
(`{{ "abc" | krw }}`) raises `FilterError`, which fails the message with that reason.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from jinja2 import Undefined, pass_context
from jinja2.runtime import Context as JinjaContext

# The render context holds the message's formatting under this name (see render.py).
FORMATTING = "_formatting"
_DATE_STYLES = ("short", "medium", "long", "full")
# Korean dates read "2026년 12월 4일 (금)"; Babel's "long" has no weekday and "full" spells it out.
_KOREAN_DATE = "y년 M월 d일 (E)"


class FilterError(ValueError):
    """A filter was given a value it cannot read; the message says which and why."""


@dataclass(frozen=True)
class Formatting:
    """The language and timezone a message is written in: the chosen locale, the contact's zone."""

    locale: Locale
    tz: tzinfo

    @property
    def korean(self) -> bool:
        return self.locale.language == "ko"


@cache
def babel_locale(tag: str) -> Locale:
    """`ko-KR`, `ko` or `en_US` as a Babel locale; an unknown tag reads as Korean."""
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("ko")


def missing(value: Any) -> bool:
    """Undefined, None or blank text: what `fallback` replaces and the other filters render empty."""
    return isinstance(value, Undefined) or value is None or (isinstance(value, str) and not value.strip())


def fallback(value: Any, default: Any = "") -> Any:
    """`{{ contact.first_name | fallback("고객님") }}`: the value, or `default` when it is missing."""
    return default if missing(value) else value


@pass_context
def krw(context: JinjaContext, value: Any) -> str:
    """12000 → "12,000원" in Korean, "₩12,000" in other languages."""
    if missing(value):
        return ""
    amount = _number(value, "krw")
    formatting = _formatting(context)
    if formatting.korean:
        # Korean groups by thousands with commas, as Python does: Babel would parse its pattern
        # anew for each of a broadcast's hundred thousand messages.
        return f"{round(amount):,}원"
    return format_currency(amount, "KRW", locale=formatting.locale)


@pass_context
def number(context: JinjaContext, value: Any, digits: int | None = None) -> str:
    """1234567 → "1,234,567"; `number(1)` rounds to one decimal place."""
    if missing(value):
        return ""
    amount = _number(value, "number")
    pattern = "#,##0" if digits is None else "#,##0." + "0" * max(0, int(digits))
    if digits is None and amount != amount.to_integral_value():
        pattern = None
    return format_decimal(amount, format=pattern, locale=_formatting(context).locale)


@pass_context
def date_filter(context: JinjaContext, value: Any, style: str | None = None) -> str:
    """A date, a datetime (in the contact's timezone) or an ISO string → "2026년 12월 4일 (금)" or
    "December 4, 2026"; `style` is short, medium, long, full or a Babel pattern."""
    if missing(value):
        return ""
    formatting = _formatting(context)
    day = _local(value, formatting.tz, "date")
    if isinstance(day, datetime):
        day = day.date()
    return format_date(day, _date_format(formatting, style), locale=formatting.locale)


@pass_context
def datetime_filter(context: JinjaContext, value: Any, style: str | None = None) -> str:
    """A datetime in the contact's timezone: "2026년 12월 4일 (금) 오후 3:00", "December 4, 2026, 3:00 PM"."""
    if missing(value):
        return ""
    formatting = _formatting(context)
    moment = _local(value, formatting.tz, "datetime")
    day = moment.date() if isinstance(moment, datetime) else moment
    text = format_date(day, _date_format(formatting, style), locale=formatting.locale)
    if not isinstance(moment, datetime):
        return text
    clock = format_time(moment.timetz(), "short", locale=formatting.locale)
    return f"{text} {clock}" if formatting.korean else f"{text}, {clock}"


def phone(value: Any) -> str:
    """An E.164 number for reading: Korean numbers as 010-1234-5678, others as +1 415-555-2671."""
    if missing(value):
        return ""
    try:
        parsed = phonenumbers.parse(str(value), "KR")
    except phonenumbers.NumberParseException:
        raise FilterError(f"phone: {value!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise FilterError(f"phone: {value!r} is not a phone number")
    if parsed.country_code == 82:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


FILTERS = {
    "fallback": fallback,
    "krw": krw,
    "number": number,
    "date": date_filter,
    "datetime": datetime_filter,
    "phone": phone,
}


def _formatting(context: JinjaContext) -> Formatting:
    found = context.get(FORMATTING)
    return found if isinstance(found, Formatting) else Formatting(babel_locale("ko"), UTC)


def _number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool):
        raise FilterError(f"{name}: {value!r} is not a number")
    try:
        amount = Decimal(str(value).replace(",", "").strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise FilterError(f"{name}: {value!r} is not a number") from None
    if not amount.is_finite():
        raise FilterError(f"{name}: {value!r} is not a number")
    return amount


def _local(value: Any, tz: tzinfo, name: str) -> date | datetime:
    """A date as it is; a datetime in `tz` (naive ones are UTC, as everything stored is)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise FilterError(f"{name}: {value!r} is not an ISO date or time") from None
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(tz)
    if isinstance(value, date):
        return value
    raise FilterError(f"{name}: {value!r} is not a date")


def _date_format(formatting: Formatting, style: str | None) -> str:
    if style is None:
        return _KOREAN_DATE if formatting.korean else "long"
    if not isinstance(style, str):
        raise FilterError(f"date: style {style!r} is not one of {', '.join(_DATE_STYLES)} or a pattern")
    return style
