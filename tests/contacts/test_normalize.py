"""Emails, phone numbers and web domains as people type them, turned into the keys contacts are found by."""

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from funnelwise.contacts.normalize import (
    _PLAIN_EMAIL,
    _is_plain_email,
    email_domain,
    is_free_mail,
    normalize_domain,
    normalize_email,
    normalize_phone,
)

# --- email -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Kim.Minsu@ACME.co.kr ", "kim.minsu@acme.co.kr"),
        ("jane+news@Example.COM", "jane+news@example.com"),
        ("Lee@Bücher.com", "lee@bücher.com"),
        ("LEE@XN--BCHER-KVA.COM", "lee@bücher.com"),
        ("ops@a--b.co.kr", "ops@a--b.co.kr"),
    ],
)
def test_an_email_is_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("kim.minsu", "An email address must have an @-sign."),
        ("kim@acme", "The part after the @-sign is not valid. It should have a period."),
        (".kim@acme.co.kr", "An email address cannot start with a period."),
        ("kim..minsu@acme.co.kr", "An email address cannot have two periods in a row."),
        (
            "kim@acme.invalid",
            "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
        ),
        (
            "kim@ab--cd.co.kr",
            "An email address cannot have two letters followed by two dashes immediately after the @-sign "
            "or after a period, except Punycode.",
        ),
    ],
)
def test_an_invalid_email_is_refused_saying_why(raw: str, reason: str) -> None:
    with pytest.raises(ValueError) as refused:
        normalize_email(raw)
    assert str(refused.value) == f"invalid email {raw!r}: {reason}"


def test_an_address_longer_than_254_characters_is_refused() -> None:
    raw = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".com"
    with pytest.raises(ValueError) as refused:
        normalize_email(raw)
    assert (
        str(refused.value) == f"invalid email {raw!r}: The email address is too long (3 characters too many)."
    )


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.one_of(
        st.from_regex(_PLAIN_EMAIL, fullmatch=True),
        st.emails().map(str.lower),
    )
)
@example("kim@ab--cd.co.kr")
@example("kim@xn--bcher-kva.com")
@example("kim@xn--a.com")
@example("kim@mail.example.local")
@example("kim@a--b.co.kr")
def test_the_fast_path_agrees_with_email_validator(candidate: str) -> None:
    """Whatever the plain-address regex lets through, email-validator accepts unchanged."""
    if not _is_plain_email(candidate):
        return
    assert validate_email(candidate, check_deliverability=False).normalized.lower() == candidate
    assert normalize_email(candidate) == candidate


@pytest.mark.parametrize("candidate", ["kim@ab--cd.co.kr", "kim@xn--bcher-kva.com", "kim@mail.example.local"])
def test_addresses_email_validator_treats_specially_skip_the_fast_path(candidate: str) -> None:
    assert _is_plain_email(candidate) is False


def test_punycode_and_unicode_spellings_of_a_domain_give_the_same_address() -> None:
    assert normalize_email("kim@xn--bcher-kva.com") == normalize_email("Kim@Bücher.com") == "kim@bücher.com"
    with pytest.raises(EmailNotValidError):
        validate_email("kim@xn--a.com", check_deliverability=False)
    with pytest.raises(ValueError, match=r"^invalid email 'kim@xn--a\.com': .*not valid IDNA"):
        normalize_email("kim@xn--a.com")


def test_the_domain_of_an_address_is_after_the_last_at_sign() -> None:
    assert email_domain("kim.minsu@acme.co.kr") == "acme.co.kr"


# --- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["010-1234-5678", "01012345678", "+82 10 1234 5678", "+82-10-1234-5678", " 010.1234.5678 "]
)
def test_a_korean_mobile_number_however_written_is_one_e164_number(raw: str) -> None:
    assert normalize_phone(raw, "KR") == "+821012345678"


def test_a_seoul_landline_gets_the_korean_country_code() -> None:
    assert normalize_phone("02-123-4567", "KR") == "+8221234567"
    assert normalize_phone("02-1234-5678", "KR") == "+82212345678"


def test_a_us_number_is_read_in_the_us_region() -> None:
    assert normalize_phone("(415) 555-2671", "US") == "+14155552671"


def test_a_number_with_a_country_code_ignores_the_region() -> None:
    assert normalize_phone("+1 415 555 2671", "KR") == "+14155552671"
    assert normalize_phone("+82 10 1234 5678", "US") == "+821012345678"


def test_a_korean_mobile_number_without_country_code_is_refused_in_the_us_region() -> None:
    with pytest.raises(ValueError) as refused:
        normalize_phone("010-1234-5678", "US")
    assert str(refused.value) == "invalid phone number '010-1234-5678': not a number in use in its region"


@pytest.mark.parametrize("raw", ["123", "02-12", "+82 99 1234 5678"])
def test_a_number_not_in_use_is_refused(raw: str) -> None:
    with pytest.raises(ValueError) as refused:
        normalize_phone(raw, "KR")
    assert str(refused.value) == f"invalid phone number {raw!r}: not a number in use in its region"


@pytest.mark.parametrize("raw", ["", "call me", "phone: none"])
def test_text_that_is_not_a_number_is_refused(raw: str) -> None:
    with pytest.raises(ValueError) as refused:
        normalize_phone(raw, "KR")
    assert str(refused.value) == (
        f"invalid phone number {raw!r}: (1) The string supplied did not seem to be a phone number."
    )


# --- domain ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.co.kr/about", "acme.co.kr"),
        ("acme.co.kr", "acme.co.kr"),
        (" WWW.ACME.COM. ", "acme.com"),
        ("http://shop.acme.com:8080/cart?id=1", "shop.acme.com"),
        ("http://user:secret@acme.com/", "acme.com"),
        ("kim@acme.co.kr", "acme.co.kr"),
    ],
)
def test_a_pasted_url_becomes_its_domain(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize("raw", ["acme", "https://", "", "-acme.com", "acme_corp.com", "www.acme"])
def test_something_that_is_not_a_domain_is_refused(raw: str) -> None:
    with pytest.raises(ValueError) as refused:
        normalize_domain(raw)
    assert str(refused.value) == f"invalid domain {raw!r}: expected something like 'acme.co.kr'"


# --- free mail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "domain", ["gmail.com", "naver.com", "daum.net", "hanmail.net", "kakao.com", "nate.com", "outlook.com"]
)
def test_free_mail_providers_are_recognised(domain: str) -> None:
    assert is_free_mail(domain) is True


@pytest.mark.parametrize("domain", ["acme.co.kr", "samsung.com", "mail.naver.com.evil.io"])
def test_company_domains_are_not_free_mail(domain: str) -> None:
    assert is_free_mail(domain) is False
