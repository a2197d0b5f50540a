"""What a step decided for one enrollment: go on, wait, fail or leave."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class GoOn:
    """The step is done; the enrollment goes on to `next` now (none: the journey is complete)."""

    next: str | None
    outcome: str


@dataclass(frozen=True)
class Wait:
    """The enrollment stays at the step until `until`, or until `event` arrives."""

    until: datetime
    event: str | None = None


@dataclass(frozen=True)
class Fail:
    """The step failed; `final` failures are not retried."""

    error: str
    final: bool = False


@dataclass(frozen=True)
class Leave:
    """The enrollment ends here: exited or converted, for `reason`."""

    status: str
    reason: str


Move = GoOn | Wait | Fail | Leave
