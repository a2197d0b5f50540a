"""Settings and deliveries for the provider tests; providers are driven with `asyncio.run`."""

import asyncio
import itertools
from collections.abc import Coroutine
from typing import Any, TypeVar

from funnelwise.config import Settings
from funnelwise.messaging.message import Delivery, MessageChannel, Rendered

T = TypeVar("T")
_ids = itertools.count(1)


def provider_settings(**values: Any) -> Settings:
    return Settings(_env_file=None, secret_key="test-secret-key-not-for-production", **values)


def delivery(channel: MessageChannel, to: str, text: str = "", **fields: Any) -> Delivery:
    number = next(_ids)
    return Delivery(
        message_id=number,
        idempotency_key=f"wf-{number}-1",
        rendered=Rendered(channel=channel, to=to, text=text, **fields),
    )


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)
