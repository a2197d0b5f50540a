"""The tracking domain's routes: the Segment-spec API (public, by write key) and its REST resources."""

from fastapi import APIRouter

from funnelwise.tracking.http import segment, sources, timeline

public_router = APIRouter()
public_router.include_router(segment.router)

router = APIRouter()
router.include_router(sources.router)
router.include_router(timeline.router)
