"""Public endpoints providers call with delivery reports: `POST /hooks/solapi`, `POST /hooks/generic`.

They carry no API key (a provider cannot send one); each URL holds `?token=` with the value of
`FUNNELWISE_PROVIDER_WEBHOOK_TOKEN`, and without that setting every call is refused. A report
naming no message of ours is counted and answered 200 all the same, so the provider stops
repeating it.
"""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query
from pydantic import BaseModel

from funnelwise.api.deps import ContextDep, SessionDep
from funnelwise.config import Settings
from funnelwise.messaging.channels.generic_http import NAME as GENERIC_HTTP
from funnelwise.messaging.delivery_reports import generic_reports, record_reports, solapi_reports

router = APIRouter(prefix="/hooks", tags=["delivery reports"])

TokenQuery = Annotated[str, Query(description="FUNNELWISE_PROVIDER_WEBHOOK_TOKEN")]


class ReportsRecorded(BaseModel):
    recorded: int
    repeated: int
    unknown: int


@router.post("/solapi")
def solapi(
    session: SessionDep, ctx: ContextDep, payload: Annotated[Any, Body()], token: TokenQuery = ""
) -> ReportsRecorded:
    """Solapi's message report webhook: a JSON array of message reports."""
    _check_token(ctx.settings, token)
    outcome = record_reports(session, ctx, solapi_reports(payload))
    return ReportsRecorded(recorded=outcome.recorded, repeated=outcome.repeated, unknown=outcome.unknown)


@router.post("/generic")
def generic(
    session: SessionDep, ctx: ContextDep, payload: Annotated[Any, Body()], token: TokenQuery = ""
) -> ReportsRecorded:
    """The generic HTTP adapter's reports: `{"id" | "provider_message_id", "status", "reason"}`, or a list."""
    _check_token(ctx.settings, token)
    outcome = record_reports(session, ctx, generic_reports(payload, GENERIC_HTTP))
    return ReportsRecorded(recorded=outcome.recorded, repeated=outcome.repeated, unknown=outcome.unknown)


def _check_token(settings: Settings, token: str) -> None:
    expected = settings.provider_webhook_token
    if not expected:
        raise HTTPException(
            403,
            "delivery reports are off: set FUNNELWISE_PROVIDER_WEBHOOK_TOKEN and add ?token=<it> to the URL",
        )
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(403, "wrong or missing ?token= for delivery reports")
