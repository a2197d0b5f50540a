"""Hashed identifiers as Google Customer Match and Meta custom audiences expect them."""

import hashlib

from funnelwise.segments.export import HashFormat, hashed_email, hashed_phone


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_an_email_is_trimmed_and_lower_cased_before_hashing() -> None:
    assert hashed_email("  Kim.MinSu@ACME.co.kr ") == _sha("kim.minsu@acme.co.kr")
    assert hashed_email(None) == ""
    assert hashed_email("   ") == ""


def test_a_phone_keeps_its_plus_for_google_and_drops_it_for_meta() -> None:
    assert hashed_phone("+821012345678", HashFormat.GOOGLE) == _sha("+821012345678")
    assert hashed_phone("+821012345678", HashFormat.META) == _sha("821012345678")
    assert hashed_phone(None, HashFormat.META) == ""
