"""Where bounces and complaints arrive: provider webhooks (by token) and DSN mail (by API key)."""

import hmac
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from funnelwise.api.deps import ContextDep, SessionDep, require
from funnelwise.errors import InvalidInput
from funnelwise.messaging.bounces import (
    ReportOutcome,
    SubscriptionConfirmation,
    dsn_reports,
    generic_reports,
    record_reports,
    ses_reports,
)

log = logging.getLogger(__name__)

# Called by providers, who hold no API key: the secret is the `?token=` in the URL they were given.
public_router = APIRouter(prefix="/hooks/email", tags=["email bounces"])
router = APIRouter(prefix="/email", tags=["messaging"])
MAX_BODY = 10 * 1024 * 1024


async def _raw_body(request: Request) -> bytes:
    return await request.body()


# Read before the (synchronous, thread-pooled) route runs, whatever the content type says.
RawBody = Annotated[bytes, Depends(_raw_body)]


@public_router.post("/{provider}")
def provider_webhook(
    provider: str, body: RawBody, session: SessionDep, ctx: ContextDep, token: str | None = None
) -> dict[str, Any]:
    """Amazon SES notifications through SNS (`ses`) or the generic JSON format (`generic`)."""
    expected = ctx.settings.email_webhook_token
    if not expected:
        raise HTTPException(403, "email webhooks are off: set FUNNELWISE_EMAIL_WEBHOOK_TOKEN to accept them")
    if token is None:
        raise HTTPException(401, "missing ?token=: the webhook URL carries FUNNELWISE_EMAIL_WEBHOOK_TOKEN")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(403, "wrong webhook token")
    if provider not in ("ses", "generic"):
        raise HTTPException(404, f"unknown email provider {provider!r}: expected 'ses' or 'generic'")
    payload = _json(body)
    if provider == "generic":
        return _outcome(record_reports(session, ctx, generic_reports(payload), "webhook:generic"))
    reports = ses_reports(payload)
    if isinstance(reports, SubscriptionConfirmation):
        # Fetching a URL a request names is how servers get turned against their own network; a
        # person confirms the subscription by opening it.
        log.warning("Amazon SNS asks to confirm topic %s: open %s", reports.topic_arn, reports.subscribe_url)
        return {
            "detail": "confirm this subscription by opening subscribe_url once",
            "topic_arn": reports.topic_arn,
            "subscribe_url": reports.subscribe_url,
        }
    return _outcome(record_reports(session, ctx, reports, "webhook:ses"))


@router.post("/dsn", dependencies=[Depends(require("messaging:write"))])
def dsn(raw: RawBody, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    """A delivery status notification (RFC 3464) or feedback report, posted as the raw message."""
    if not raw.strip():
        raise InvalidInput.single("body", "post the DSN message itself (message/rfc822)")
    if len(raw) > MAX_BODY:
        raise InvalidInput.single("body", f"a DSN message is at most {MAX_BODY} bytes")
    return _outcome(record_reports(session, ctx, dsn_reports(raw), "dsn"))


def _json(body: bytes) -> Any:
    # SNS posts JSON as text/plain, so the body is read whatever its content type says.
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput.single("body", f"malformed JSON: {exc}") from exc


def _outcome(outcome: ReportOutcome) -> dict[str, Any]:
    return {"recorded": outcome.recorded, "suppressed": outcome.suppressed, "unmatched": outcome.unmatched}
