"""Commerce tests speak the tracking API, as shops do: the tracking fixtures, shared."""

from tests.tracking.conftest import send, tracking, write_key

__all__ = ["send", "tracking", "write_key"]
