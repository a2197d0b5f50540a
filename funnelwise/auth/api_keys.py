"""API keys: created once and shown once, stored as a hash, scoped per domain, revocable."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from funnelwise.auth.models import ApiKey
from funnelwise.auth.schemas import ApiKeyOut
from funnelwise.context import Context
from funnelwise.errors import InvalidInput, NotFound

DOMAINS = ("contacts", "tracking", "segments", "scoring", "sales", "workflows", "messaging", "analytics")
ACCESS = ("read", "write")
ALL_SCOPES = "*"
TOKEN_PREFIX = "fw"


def parse_scopes(scopes: Iterable[str]) -> list[str]:
    """Checks scope names such as `contacts:read` or `*`; returns them de-duplicated, in order."""
    parsed: list[str] = []
    for raw in scopes:
        for scope in (part.strip() for part in raw.split(",")):
            if not scope:
                continue
            domain, _, access = scope.partition(":")
            if scope != ALL_SCOPES and (domain not in DOMAINS or access not in ACCESS):
                expected = ", ".join(f"{d}:read|write" for d in DOMAINS)
                raise InvalidInput.single(
                    "scopes", f"unknown scope {scope!r}; expected '*' or one of {expected}"
                )
            if scope not in parsed:
                parsed.append(scope)
    if not parsed:
        raise InvalidInput.single("scopes", "a key needs at least one scope, for example contacts:read")
    return parsed


def allows(granted: Iterable[str], needed: str) -> bool:
    """Whether scopes grant `needed`; write access to a domain includes reading it."""
    domain = needed.split(":", 1)[0]
    return any(scope in (ALL_SCOPES, needed, f"{domain}:write") for scope in granted)


def create_api_key(session: Session, ctx: Context, name: str, scopes: Iterable[str]) -> tuple[ApiKeyOut, str]:
    """Returns the stored key and the token, which exists nowhere else from now on."""
    if not name.strip():
        raise InvalidInput.single("name", "a key needs a name saying who uses it")
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name.strip(),
        prefix=prefix,
        key_hash=_digest(token),
        scopes=parse_scopes(scopes),
        created_at=ctx.clock.now(),
    )
    session.add(key)
    session.flush()
    return ApiKeyOut.model_validate(key), token


def authenticate(session: Session, token: str) -> ApiKeyOut | None:
    """The live key a token belongs to, or None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked_at.is_(None)))
    if key is None or not hmac.compare_digest(key.key_hash, _digest(token)):
        return None
    return ApiKeyOut.model_validate(key)


def list_api_keys(session: Session) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_api_key(session: Session, ctx: Context, key: str) -> ApiKeyOut:
    """Revokes a key named by its id or prefix."""
    condition = ApiKey.prefix == key
    if key.isdigit():
        condition = or_(condition, ApiKey.id == int(key))
    found = session.scalar(select(ApiKey).where(condition))
    if found is None:
        raise NotFound("API key", key)
    if found.revoked_at is None:
        found.revoked_at = ctx.clock.now()
        session.flush()
    return ApiKeyOut.model_validate(found)


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is as safe as a slow one here.
    return hashlib.sha256(token.encode()).hexdigest()
