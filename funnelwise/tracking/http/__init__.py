"""The tracking domain's routes: the Segment-spec API (public, by write key) and its REST resources."""

from fastapi import APIRouter

from funnelwise.tracking.http import forms, segment, sources, timeline, tracker

public_router = APIRouter()
public_router.include_router(segment.router)
public_router.include_router(tracker.router)
public_router.include_router(forms.public_router)

router = APIRouter()
router.include_router(sources.router)
router.include_router(timeline.router)
router.include_router(forms.router)
