"""The open pixel and tracked-click redirect that emails link to; public, signed rather than keyed."""

import base64
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from funnelwise.api.deps import ContextDep, SessionDep
from funnelwise.api.errors import error_body
from funnelwise.messaging.email_events import CLICKED, OPENED, record_outcome
from funnelwise.messaging.links import OPEN, message_of_click, message_of_token

router = APIRouter(tags=["email tracking"], include_in_schema=False)

# The smallest transparent GIF: 1 by 1 pixel, transparent.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# Every open must reach us, so nothing on the way may keep a copy.
_NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, private", "Pragma": "no-cache"}
_BAD_LINK = "this link is not valid: it was changed or does not come from one of our emails"


@router.get("/o/{token}.gif")
def open_pixel(token: str, session: SessionDep, ctx: ContextDep) -> Response:
    """Logs `Email Opened` for a validly signed token; the image is answered either way."""
    message_id = message_of_token(ctx.settings, OPEN, token)
    if message_id is not None:
        record_outcome(session, ctx, message_id, OPENED)
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


@router.get("/c/{token}")
def click(
    request: Request, token: str, url: Annotated[str, Query(alias="u")], session: SessionDep, ctx: ContextDep
) -> Response:
    """Redirects to the link's address after logging `Email Clicked`, only if the token signs that address."""
    message_id = message_of_click(ctx.settings, token, url)
    if message_id is None or urlsplit(url).scheme.lower() not in ("http", "https"):
        return _refused(request)
    # A click proves the message was opened, even when its images were never loaded.
    record_outcome(session, ctx, message_id, CLICKED, {"url": url}, also=[OPENED])
    return RedirectResponse(url, status_code=302, headers=_NO_STORE)


def _refused(request: Request) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        page = (
            '<!doctype html><html><head><meta charset="utf-8"><title>Invalid link</title></head>'
            f"<body><h1>Invalid link</h1><p>{_BAD_LINK.capitalize()}.</p></body></html>"
        )
        return HTMLResponse(page, status_code=400)
    return JSONResponse(error_body(_BAD_LINK), status_code=400)
