"""Waking this server's worker after every request that may have changed something."""

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_READING = frozenset({"GET", "HEAD", "OPTIONS"})


class WakeWorkerMiddleware:
    """After a successful write (an edited contact, a list upload, a form), the worker looks at once.

    On PostgreSQL the writing transaction's NOTIFY wakes every worker already; on SQLite this is
    what makes the worker `funnelwise serve` started react now rather than at its next poll.
    """

    def __init__(self, app: ASGIApp, wake: Callable[[], None]) -> None:
        self._app = app
        self._wake = wake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READING:
            await self._app(scope, receive, send)
            return
        succeeded = False

        async def watch(message: Message) -> None:
            nonlocal succeeded
            if message["type"] == "http.response.start":
                succeeded = message["status"] < 400
            await send(message)

        await self._app(scope, receive, watch)
        if succeeded:
            self._wake()
