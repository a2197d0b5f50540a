"""Fixtures for tracking tests: a source's write key, and a client that speaks the tracking API."""

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.context import Context
from funnelwise.tracking.sources import create_source


@pytest.fixture
def write_key(sessions: sessionmaker[Session], ctx: Context) -> str:
    """The write key of a fresh 'website' source."""
    with sessions.begin() as session:
        return create_source(session, ctx, "website").write_key


@pytest.fixture
def tracking(live_server: str, write_key: str, resolve: Callable[[], int]) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as the source, the way Segment's libraries are (Basic auth).

    The test server runs no worker; after each answer the intake is worked off, so every call a
    test makes has reached the log before the test looks, as it does moments later in production.
    """
    hooks = {"response": [lambda _response: resolve()]}
    with httpx.Client(base_url=live_server, auth=(write_key, ""), timeout=30, event_hooks=hooks) as client:
        yield client


@pytest.fixture
def send(tracking: httpx.Client) -> Callable[..., httpx.Response]:
    """Posts one batch of messages to /v1/batch and returns the response."""

    def post(*messages: dict) -> httpx.Response:
        return tracking.post("/v1/batch", json={"batch": list(messages)})

    return post


@pytest.fixture
def accept(live_server: str, write_key: str) -> Iterator[Callable[..., httpx.Response]]:
    """Posts one batch to /v1/batch as the source and leaves what it accepted in the intake:
    nothing resolves it, so a test sees the queue the worker would find."""
    with httpx.Client(base_url=live_server, auth=(write_key, ""), timeout=30) as client:
        yield lambda *messages: client.post("/v1/batch", json={"batch": list(messages)})
