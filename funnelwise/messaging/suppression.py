"""The suppression list: email addresses and phone numbers nothing is sent to again.

Hard bounces and complaints add themselves; people add and remove entries by hand. The sender
checks every message's address here before anything else.
"""

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from funnelwise.contacts.normalize import normalize_email, normalize_phone
from funnelwise.context import Context
from funnelwise.db.dialect import insert
from funnelwise.errors import InvalidInput, NotFound
from funnelwise.messaging.models import Suppression

MAX_LIMIT = 500
_PHONE_PUNCTUATION = re.compile(r"[\s().-]+")


class SuppressionKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"


_KINDS = frozenset(kind.value for kind in SuppressionKind)


class SuppressionReason(StrEnum):
    """Why an address is on the list; reasons are free text, these are the ones Funnelwise writes."""

    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBED = "unsubscribed"
    MANUAL = "manual"


class SuppressionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: SuppressionKind
    address: str
    reason: str
    detail: str | None
    source: str
    created_at: datetime


class SuppressionPage(BaseModel):
    results: list[SuppressionOut]
    next_before_id: int | None


def normalize_address(kind: str, address: str, region: str) -> str:
    """The address as the list keeps it: a lower-case email or an E.164 phone number."""
    if kind not in _KINDS:
        raise InvalidInput.single("kind", f"unknown kind {kind!r}, expected 'email' or 'phone'")
    try:
        if kind == SuppressionKind.EMAIL:
            return normalize_email(address)
        return normalize_phone(address, region)
    except ValueError as exc:
        raise InvalidInput.single("address", str(exc)) from exc


def suppress(
    session: Session,
    ctx: Context,
    kind: str,
    address: str,
    reason: str,
    source: str,
    detail: str | None = None,
) -> bool:
    """Puts the address on the list; False when it was there already (the first reason stays)."""
    normalized = normalize_address(kind, address, ctx.settings.default_region)
    table = Suppression.__table__
    statement = (
        insert(session, table)
        .values(
            kind=kind,
            address=normalized,
            reason=reason[:32],
            detail=detail,
            source=source[:64],
            created_at=ctx.clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["kind", "address"])
        .returning(table.c.id)
    )
    return session.execute(statement).first() is not None


def unsuppress(session: Session, ctx: Context, kind: str, address: str) -> None:
    """Takes the address off the list, or NotFound when it is not on it."""
    normalized = normalize_address(kind, address, ctx.settings.default_region)
    removed = session.execute(
        delete(Suppression).where(Suppression.kind == kind, Suppression.address == normalized)
    )
    if removed.rowcount == 0:
        raise NotFound(f"{kind} suppression", normalized)


def is_suppressed(session: Session, kind: str, address: str) -> bool:
    return bool(suppressed_among(session, kind, [address]))


def suppressed_among(session: Session, kind: str, addresses: Iterable[str]) -> set[str]:
    """The given addresses (as given) that are on the list; one query for a whole batch.

    Emails match in any case; phones are expected in E.164, as contacts keep them.
    """
    by_key: dict[str, list[str]] = {}
    for address in addresses:
        by_key.setdefault(_lookup_key(kind, address), []).append(address)
    if not by_key:
        return set()
    found = session.scalars(
        select(Suppression.address).where(Suppression.kind == kind, Suppression.address.in_(list(by_key)))
    )
    return {address for key in found for address in by_key[key]}


def list_suppressions(
    session: Session, *, kind: SuppressionKind | None = None, before_id: int | None = None, limit: int = 50
) -> SuppressionPage:
    """Newest first; page on with `before_id`."""
    query = select(Suppression).order_by(Suppression.id.desc()).limit(limit + 1)
    if kind is not None:
        query = query.where(Suppression.kind == kind.value)
    if before_id is not None:
        query = query.where(Suppression.id < before_id)
    rows = list(session.scalars(query))
    results = [SuppressionOut.model_validate(row) for row in rows[:limit]]
    return SuppressionPage(results=results, next_before_id=results[-1].id if len(rows) > limit else None)


def get_suppression(session: Session, ctx: Context, kind: str, address: str) -> SuppressionOut:
    normalized = normalize_address(kind, address, ctx.settings.default_region)
    row = session.scalar(
        select(Suppression).where(Suppression.kind == kind, Suppression.address == normalized)
    )
    if row is None:
        raise NotFound(f"{kind} suppression", normalized)
    return SuppressionOut.model_validate(row)


def _lookup_key(kind: str, address: str) -> str:
    if kind == SuppressionKind.EMAIL:
        return address.strip().lower()
    return _PHONE_PUNCTUATION.sub("", address)
