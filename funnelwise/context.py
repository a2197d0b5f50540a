"""What every domain service needs from its surroundings: the settings and the clock."""

from dataclasses import dataclass

from funnelwise.clock import Clock
from funnelwise.config import Settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    clock: Clock
