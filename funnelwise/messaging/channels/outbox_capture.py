"""The development outbox: with no provider configured for a channel, a message is kept, not sent.

The sender stores what was rendered on the outbox row, where the API shows it, so a new user
sees exactly what would have gone out.
"""

from funnelwise.messaging.message import Accepted, Delivery

NAME = "outbox"


class OutboxCapture:
    name = NAME
    # Capturing twice changes nothing, so an interrupted capture is simply done again.
    idempotent = True

    async def send(self, delivery: Delivery) -> Accepted:
        return Accepted(provider=NAME)

    async def aclose(self) -> None:
        return None
