"""API keys: scopes are checked when a key is made, and only a hash of the token is kept."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from funnelwise.auth.api_keys import DOMAINS, allows, authenticate, create_api_key, parse_scopes
from funnelwise.auth.models import ApiKey
from funnelwise.context import Context
from funnelwise.errors import InvalidInput


def test_scopes_may_be_repeated_or_comma_separated_and_are_deduplicated() -> None:
    assert parse_scopes(["contacts:read, segments:write", "contacts:read", " * "]) == [
        "contacts:read",
        "segments:write",
        "*",
    ]


@pytest.mark.parametrize("scope", ["contacts", "contacts:admin", "billing:read", "CONTACTS:READ", "**"])
def test_an_unknown_scope_is_refused_with_the_expected_ones_listed(scope: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_scopes([scope])

    (error,) = raised.value.errors
    assert error.field == "scopes"
    assert error.message.startswith(f"unknown scope {scope!r}; expected '*' or one of contacts:read|write")
    for domain in DOMAINS:
        assert f"{domain}:read|write" in error.message


@pytest.mark.parametrize("scopes", [[], [""], [" , "]])
def test_a_key_needs_at_least_one_scope(scopes: list[str]) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_scopes(scopes)

    assert [e.field for e in raised.value.errors] == ["scopes"]


@pytest.mark.parametrize(
    ("granted", "needed", "allowed"),
    [
        (["*"], "contacts:write", True),
        (["contacts:read"], "contacts:read", True),
        (["contacts:read"], "contacts:write", False),
        (["contacts:write"], "contacts:read", True),
        (["contacts:write"], "contacts:write", True),
        (["segments:write"], "contacts:read", False),
        (["segments:read", "contacts:read"], "contacts:read", True),
        ([], "contacts:read", False),
    ],
)
def test_write_access_to_a_domain_includes_reading_it_and_nothing_else(
    granted: list[str], needed: str, allowed: bool
) -> None:
    assert allows(granted, needed) is allowed


def test_only_the_hash_of_a_token_is_stored(session: Session, ctx: Context) -> None:
    key, token = create_api_key(session, ctx, "website backend", ["contacts:read"])
    session.commit()

    row = session.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": key.id}).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    secret = token.split("_", 2)[2]
    assert token not in stored
    assert secret not in stored
    assert row["prefix"] == key.prefix
    assert len(row["key_hash"]) == 64
    assert authenticate(session, token) == key


def test_a_key_needs_a_name(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as raised:
        create_api_key(session, ctx, "  ", ["*"])

    assert [e.field for e in raised.value.errors] == ["name"]
    assert session.scalars(select(ApiKey)).all() == []
