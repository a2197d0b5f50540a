"""GET /js/fw.js: the web tracker, cached by browsers for a few minutes and revalidated by its ETag."""

import hashlib
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["public"])

MEDIA_TYPE = "application/javascript; charset=utf-8"
# Short, so a new tracker reaches every site within minutes; the ETag makes the revalidation cheap.
CACHE_CONTROL = "public, max-age=300"


@cache
def _tracker() -> tuple[bytes, str]:
    """The script and its ETag, read once from the package."""
    body = files("funnelwise.tracking").joinpath("static/fw.js").read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@router.get("/js/fw.js", include_in_schema=False)
def tracker_script(request: Request) -> Response:
    body, etag = _tracker()
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly: `W/"x"` matches `"x"`, and `*` matches anything."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags
