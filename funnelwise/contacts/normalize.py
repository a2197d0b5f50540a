"""Normalising the keys people are found by: email addresses, phone numbers, web domains."""

import re
from urllib.parse import urlsplit

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "naver.com", "daum.net", "hanmail.net", "kakao.com",
        "nate.com", "empas.com", "korea.com", "dreamwiz.com", "hotmail.com", "outlook.com",
        "live.com", "msn.com", "yahoo.com", "yahoo.co.kr", "icloud.com", "me.com", "mac.com",
        "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "mail.ru", "yandex.ru",
        "qq.com", "163.com", "126.com", "zoho.com", "hey.com", "fastmail.com", "tutanota.com",
    }
)  # fmt: skip

_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)
# Plain lower-case ASCII addresses, the overwhelming majority, skip the full validator; the
# pattern accepts only what email-validator accepts too (tests/contacts/test_normalize.py).
# Labels with "--" in the third and fourth places are left to it: IDNA refuses them, except
# Punycode ("xn--"), which it turns back into Unicode.
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*)@"
    r"(?P<domain>(?:(?![a-z0-9]{2}--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?P<tld>[a-z]{2,63}))"
)
# Korean mobile numbers as people write them: 010-1234-5678, 01012345678, +82 10 1234 5678.
_KR_MOBILE = re.compile(r"(?:\+82[ -]?|0)10[ .-]?(\d{4})[ .-]?(\d{4})")


def normalize_email(raw: str) -> str:
    """The address in lower case, or ValueError saying what is wrong with it."""
    candidate = raw.strip().lower()
    if _is_plain_email(candidate):
        return candidate
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email {raw!r}: {exc}") from exc


def normalize_phone(raw: str, region: str) -> str:
    """The number in E.164, read in `region` when it has no country code, or ValueError."""
    candidate = raw.strip()
    if region == "KR" and (match := _KR_MOBILE.fullmatch(candidate)):
        return f"+8210{match[1]}{match[2]}"
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"invalid phone number {raw!r}: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"invalid phone number {raw!r}: not a number in use in its region")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_domain(raw: str) -> str:
    """A web domain from what people paste: `https://www.Acme.co.kr/about` -> `acme.co.kr`."""
    text = raw.strip().lower()
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    host = host.removeprefix("www.").rstrip(".")
    labels = host.split(".")
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", x) for x in labels):
        raise ValueError(f"invalid domain {raw!r}: expected something like 'acme.co.kr'")
    return host


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1]


def is_free_mail(domain: str) -> bool:
    return domain in FREE_MAIL_DOMAINS


def _is_plain_email(candidate: str) -> bool:
    """Whether a lower-cased address is valid and normalised as it is, without the full validator."""
    match = _PLAIN_EMAIL.fullmatch(candidate)
    return bool(
        match and len(match["local"]) <= 64 and len(candidate) <= 254 and not _is_special_use(match["domain"])
    )


def _is_special_use(domain: str) -> bool:
    labels = domain.split(".")
    return any(".".join(labels[i:]) in _SPECIAL_USE for i in range(len(labels)))
