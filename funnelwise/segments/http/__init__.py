"""The segments domain's REST routes: segments and static lists."""

from fastapi import APIRouter

from funnelwise.segments.http import lists, segments

router = APIRouter()
router.include_router(segments.router)
router.include_router(lists.router)
