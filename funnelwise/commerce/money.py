"""Money as integers in the currency's minor unit, read from numbers or shop-style text with Decimal."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision, is_currency

DEFAULT_CURRENCY = "KRW"
# The largest amount a BIGINT column holds; beyond it the database would refuse the whole batch.
MAX_MINOR = 2**63 - 1


def currency_code(value: Any) -> str:
    """An ISO 4217 code in upper case (`krw` → `KRW`), or ValueError."""
    if value is None or value == "":
        return DEFAULT_CURRENCY
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or not is_currency(code):
        raise ValueError(f"unknown currency {value!r}; expected an ISO 4217 code such as 'KRW' or 'USD'")
    return code


def parse_amount(value: Any) -> Decimal:
    """A non-negative amount from a JSON number or text such as '19.99', '39,000원' or '₩39,000'."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"expected an amount such as 39000 or '19.99', got {value!r}")
    # str() of a float is its shortest round-tripping text: 19.99 reads as Decimal('19.99').
    text = str(value).strip().replace(",", "").removeprefix("₩").removesuffix("원").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"expected an amount such as 39000 or '19.99', got {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"expected a finite amount, got {value!r}")
    if amount < 0:
        raise ValueError(f"expected an amount of zero or more, got {value!r}")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """The amount in minor units, rounded half up to the currency's digits (KRW 0, USD 2).

    Rounding, not refusing: shops and browsers compute totals in floating point, and 59.97 often
    arrives as 59.970000000000006.
    """
    digits = get_currency_precision(currency)
    try:
        minor = int(amount.scaleb(digits).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:  # more digits than Decimal's 28 of precision
        minor = MAX_MINOR + 1
    if minor > MAX_MINOR:
        raise ValueError(f"{amount} {currency} is more than can be stored")
    return minor


def minor_to_text(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string: 1999 USD → '19.99', 39000 KRW → '39000'."""
    digits = get_currency_precision(currency)
    return str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))
