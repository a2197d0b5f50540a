"""Custom property values checked against their definitions, as sent in JSON or read from CSV text."""

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from funnelwise.contacts.properties import EnumOption, PropertyCoercer, PropertySpec, PropertyType
from funnelwise.errors import FieldError

SEOUL = ZoneInfo("Asia/Seoul")
SPECS = (
    PropertySpec("nickname", PropertyType.STRING),
    PropertySpec("annual_budget", PropertyType.NUMBER),
    PropertySpec("newsletter", PropertyType.BOOLEAN),
    PropertySpec("signed_up_on", PropertyType.DATE),
    PropertySpec("last_demo_at", PropertyType.DATETIME),
    PropertySpec(
        "tier",
        PropertyType.ENUM,
        options=(EnumOption("gold", "Gold Tier"), EnumOption("silver", "실버")),
    ),
    PropertySpec(
        "interests",
        PropertyType.MULTI_ENUM,
        options=(EnumOption("email", "Email Marketing"), EnumOption("ads", "광고")),
    ),
)
KNOWN = "annual_budget, interests, last_demo_at, newsletter, nickname, signed_up_on, tier"


def clean(values: dict[str, Any], *, from_text: bool = False) -> tuple[dict[str, Any], list[FieldError]]:
    return PropertyCoercer(SPECS, SEOUL).clean(values, from_text=from_text)


def error(name: str, message: str) -> tuple[dict[str, Any], list[FieldError]]:
    return {}, [FieldError(f"properties.{name}", message)]


# --- JSON values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("nickname", " Minsu ", " Minsu "),
        ("annual_budget", 1200, 1200),
        ("annual_budget", 12.5, 12.5),
        ("annual_budget", -3, -3),
        ("newsletter", True, True),
        ("newsletter", False, False),
        ("signed_up_on", "2026-03-01", "2026-03-01"),
        ("last_demo_at", "2026-03-01T09:30:00+09:00", "2026-03-01T00:30:00Z"),
        ("last_demo_at", "2026-03-01T00:30:00Z", "2026-03-01T00:30:00Z"),
        ("last_demo_at", "2026-03-01T09:30:00", "2026-03-01T00:30:00Z"),
        ("tier", "gold", "gold"),
        ("tier", "실버", "silver"),
        ("interests", ["email", "ads"], ["email", "ads"]),
        ("interests", ["Email Marketing", "email", "광고"], ["email", "ads"]),
        ("interests", [], []),
    ],
)
def test_a_json_value_of_the_right_type_is_stored_in_its_canonical_form(
    name: str, value: Any, stored: Any
) -> None:
    assert clean({name: value}) == ({name: stored}, [])


def test_null_clears_a_property_of_any_type() -> None:
    values = {spec.name: None for spec in SPECS}
    assert clean(values) == (values, [])


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("nickname", 3, "expected text, got int 3"),
        ("nickname", "x" * 65_536, "text longer than 65535 characters"),
        ("annual_budget", "1200", "expected a number, got text '1200'"),
        ("annual_budget", [1], "expected a number, got list [1]"),
        ("newsletter", "yes", "expected true or false, got 'yes'"),
        ("newsletter", 1, "expected true or false, got int 1"),
        ("signed_up_on", 20260301, "expected a date such as '2026-03-01', got int 20260301"),
        ("signed_up_on", "2026-02-30", "expected a date such as '2026-03-01', got '2026-02-30'"),
        ("signed_up_on", "next week", "expected a date such as '2026-03-01', got 'next week'"),
        (
            "last_demo_at",
            "soon",
            "expected a date-time such as '2026-03-01T09:30:00+09:00', got 'soon'",
        ),
        (
            "last_demo_at",
            1767225600,
            "expected a date-time such as '2026-03-01T09:30:00+09:00', got int 1767225600",
        ),
        ("tier", "bronze", "'bronze' is not one of 'gold', 'silver'"),
        ("tier", 1, "int 1 is not one of 'gold', 'silver'"),
        ("interests", "email;ads", "expected a list of options, got 'email;ads'"),
        ("interests", ["email", "print"], "'print' is not one of 'email', 'ads'"),
    ],
)
def test_a_json_value_of_the_wrong_type_is_refused_saying_what_was_expected(
    name: str, value: Any, message: str
) -> None:
    assert clean({name: value}) == error(name, message)


@pytest.mark.parametrize("flag", [True, False])
def test_a_boolean_is_not_a_number(flag: bool) -> None:
    assert clean({"annual_budget": flag}) == error("annual_budget", f"expected a number, got bool {flag}")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(value: float) -> None:
    assert clean({"annual_budget": value}) == error("annual_budget", "expected a finite number")


def test_an_unknown_property_is_refused_naming_the_known_ones() -> None:
    assert clean({"favourite_colour": "blue"}) == error(
        "favourite_colour", f"unknown property 'favourite_colour'; define it first (known: {KNOWN})"
    )


def test_with_no_definitions_the_message_says_none_are_known_yet() -> None:
    coercer = PropertyCoercer([], SEOUL)
    assert coercer.clean({"tier": "gold"}) == error(
        "tier", "unknown property 'tier'; define it first (known: none yet)"
    )


def test_good_values_are_kept_and_every_bad_one_is_reported() -> None:
    cleaned, errors = clean(
        {"nickname": "Minsu", "annual_budget": "lots", "tier": "gold", "colour": "red"}, from_text=False
    )
    assert cleaned == {"nickname": "Minsu", "tier": "gold"}
    assert errors == [
        FieldError("properties.annual_budget", "expected a number, got text 'lots'"),
        FieldError("properties.colour", f"unknown property 'colour'; define it first (known: {KNOWN})"),
    ]


def test_the_error_prefix_can_name_a_csv_column() -> None:
    cleaned, errors = PropertyCoercer(SPECS, SEOUL).clean({"newsletter": "maybe"}, prefix="columns")
    assert (cleaned, errors) == (
        {},
        [FieldError("columns.newsletter", "expected true or false, got 'maybe'")],
    )


# --- CSV text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "stored"),
    [
        ("nickname", "  Minsu ", "Minsu"),
        ("annual_budget", "1,200원", 1200),
        ("annual_budget", "₩1,200", 1200),
        ("annual_budget", " 1.50 ", 1.5),
        ("annual_budget", "-7", -7),
        ("annual_budget", "1e3", 1000),
        ("newsletter", "예", True),
        ("newsletter", "네", True),
        ("newsletter", "YES", True),
        ("newsletter", "1", True),
        ("newsletter", "아니오", False),
        ("newsletter", "아니요", False),
        ("newsletter", "no", False),
        ("newsletter", "0", False),
        ("signed_up_on", "2026.03.01", "2026-03-01"),
        ("signed_up_on", "2026.3.1.", "2026-03-01"),
        ("signed_up_on", "2026/03/01", "2026-03-01"),
        ("signed_up_on", "20260301", "2026-03-01"),
        ("last_demo_at", "2026-03-01 09:30", "2026-03-01T00:30:00Z"),
        ("last_demo_at", "2026-03-01 00:30:00+00:00", "2026-03-01T00:30:00Z"),
        ("tier", "gold tier", "gold"),
        ("tier", " GOLD ", "gold"),
        ("tier", "실버", "silver"),
        ("interests", "email;ads", ["email", "ads"]),
        ("interests", "Email Marketing; 광고 ;", ["email", "ads"]),
        ("interests", "ads", ["ads"]),
    ],
)
def test_csv_text_is_read_as_people_write_it(name: str, text: str, stored: Any) -> None:
    assert clean({name: text}, from_text=True) == ({name: stored}, [])


def test_a_naive_csv_date_time_is_read_in_the_accounts_timezone() -> None:
    """A CSV says 09:30 without a zone: in Seoul that is 00:30 UTC; in UTC it stays 09:30."""
    seoul = PropertyCoercer(SPECS, SEOUL).clean({"last_demo_at": "2026-03-01 09:30"}, from_text=True)
    utc = PropertyCoercer(SPECS, ZoneInfo("UTC")).clean({"last_demo_at": "2026-03-01 09:30"}, from_text=True)
    assert seoul == ({"last_demo_at": "2026-03-01T00:30:00Z"}, [])
    assert utc == ({"last_demo_at": "2026-03-01T09:30:00Z"}, [])


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_csv_cell_clears_the_property(text: str) -> None:
    assert clean({"annual_budget": text, "tier": text}, from_text=True) == (
        {"annual_budget": None, "tier": None},
        [],
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("annual_budget", "about 1200", "expected a number, got 'about 1200'"),
        ("annual_budget", "NaN", "expected a finite number, got 'NaN'"),
        ("annual_budget", "Infinity", "expected a finite number, got 'Infinity'"),
        ("newsletter", "maybe", "expected true or false, got 'maybe'"),
        ("signed_up_on", "2026.13.01", "expected a date such as '2026-03-01', got '2026.13.01'"),
        ("tier", "Bronze", "'Bronze' is not one of 'gold', 'silver'"),
        ("interests", "email;print", "'print' is not one of 'email', 'ads'"),
    ],
)
def test_csv_text_that_cannot_be_read_is_refused(name: str, text: str, message: str) -> None:
    assert clean({name: text}, from_text=True) == error(name, message)
