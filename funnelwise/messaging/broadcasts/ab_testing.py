"""A/B tests: which contacts make the sample, which variant each gets, and which variant won."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.messaging.models import Broadcast
from funnelwise.messaging.outbox import OutboxMessage

# A prime below 2**31: every product in the rank stays far inside a 64-bit integer.
_PRIME = 2_147_483_647


@dataclass(frozen=True)
class VariantRate:
    variant: str
    sent: int
    engaged: int

    @property
    def rate(self) -> float:
        return self.engaged / self.sent if self.sent else 0.0


def sample_size(audience: int, percent: int) -> int:
    """How many of the audience the test goes to: `percent` of it, rounded up."""
    return -(-audience * percent // 100)


def sample_rank(broadcast_id: int, contact_id: Any) -> Any:
    """A scrambled number per contact, the same for a broadcast every time it is computed.

    The sample is the contacts with the lowest ranks, so it is spread over the whole audience
    rather than its oldest or newest contacts, and a broadcast resumed after a crash picks the
    same sample. Rounds of multiply, square and add modulo a prime; every intermediate stays
    below 2**62, so the same arithmetic runs in both databases and on a plain int alike.
    """
    mixed = (contact_id + (broadcast_id % _PRIME) * 7_919) % _PRIME
    mixed = (mixed * 48_271 + 11) % _PRIME
    return ((mixed * mixed % _PRIME) * 16_807 + mixed) % _PRIME


def variant_rates(session: Session, broadcast: Broadcast) -> list[VariantRate]:
    """Each variant's sent messages and how many of them were opened (or clicked), in definition order."""
    assert broadcast.ab is not None
    engaged_at = OutboxMessage.clicked_at if broadcast.ab["metric"] == "click" else OutboxMessage.opened_at
    rows = session.execute(
        select(OutboxMessage.variant, func.count(OutboxMessage.sent_at), func.count(engaged_at))
        .where(OutboxMessage.broadcast_id == broadcast.id)
        .group_by(OutboxMessage.variant)
    )
    counted = {variant: (sent, engaged) for variant, sent, engaged in rows}
    return [
        VariantRate(variant["name"], *counted.get(variant["name"], (0, 0)))
        for variant in broadcast.ab["variants"]
    ]


def winner(rates: list[VariantRate]) -> str:
    """The variant with the highest rate; a tie goes to the one defined first."""
    best = rates[0]
    for candidate in rates[1:]:
        if candidate.rate > best.rate:
            best = candidate
    return best.variant
