"""/api/v1/contacts/{id}/consents: a contact's consents per channel and topic, read and changed.

Changing them takes an API key with `contacts:write` or `messaging:write`; reading, one that may
read either.
"""

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from funnelwise.api.deps import ContextDep, IdPath, SessionDep, require
from funnelwise.contacts.models import Contact
from funnelwise.context import Context
from funnelwise.errors import FieldError, InvalidInput, NotFound
from funnelwise.messaging.consent import (
    TOPIC_PATTERN,
    Channel,
    ConsentGrant,
    ConsentOut,
    consents_of,
    grant_consent,
    revoke_consent,
)

router = APIRouter(prefix="/contacts", tags=["consents"])
Read = Depends(require("contacts:read", "messaging:read"))
Write = Depends(require("contacts:write", "messaging:write"))


class ConsentChange(BaseModel):
    """Grant or revoke one topic of a channel; revoking without a topic revokes every topic of it."""

    channel: Channel
    topic: str | None = Field(default=None, pattern=TOPIC_PATTERN)
    status: Literal["granted", "revoked"]
    # What the person was shown and agreed to, and which version of it: needed to grant.
    wording: str | None = Field(default=None, max_length=10_000)
    version: str | None = Field(default=None, max_length=64)
    source: str = Field(default="api", min_length=1, max_length=255)
    ip: str | None = Field(default=None, max_length=64)


@router.get("/{contact_id}/consents", dependencies=[Read])
def index(session: SessionDep, contact_id: IdPath) -> list[ConsentOut]:
    """The contact's consents by channel and topic, with what was agreed, when, where and from which IP."""
    _contact_exists(session, contact_id)
    return consents_of(session, contact_id)


@router.put("/{contact_id}/consents", dependencies=[Write])
def change(session: SessionDep, ctx: ContextDep, contact_id: IdPath, body: ConsentChange) -> list[ConsentOut]:
    """Records a grant or a revocation and answers with all the contact's consents."""
    _contact_exists(session, contact_id)
    apply_change(session, ctx, contact_id, body)
    return consents_of(session, contact_id)


def apply_change(session: Session, ctx: Context, contact_id: int, body: ConsentChange) -> list[ConsentOut]:
    """The change as the consent service records it; InvalidInput names the field at fault."""
    if body.status == "revoked":
        return revoke_consent(
            session, ctx, contact_id, body.channel, body.topic, source=body.source, ip=body.ip
        )
    errors = [
        FieldError(name, "needed to grant consent: what the person agreed to")
        for name in ("topic", "wording", "version")
        if not (getattr(body, name) or "").strip()
    ]
    if errors:
        raise InvalidInput(errors)
    grant = ConsentGrant(
        channel=body.channel,
        topic=body.topic,  # type: ignore[arg-type]  # checked above
        wording=body.wording,  # type: ignore[arg-type]
        version=body.version,  # type: ignore[arg-type]
        source=body.source,
        ip=body.ip,
    )
    return [grant_consent(session, ctx, contact_id, grant)]


def _contact_exists(session: Session, contact_id: int) -> None:
    if session.get(Contact, contact_id) is None:
        raise NotFound("contact", contact_id)
