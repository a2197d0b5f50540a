"""What a step sees while it runs, and how it says it failed."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class StepContext:
    """One enrollment at one step: who, where, and the key that makes the step's effect happen once."""

    enrollment_id: int
    workflow_id: int
    workflow_name: str
    version: int
    contact_id: int
    step_id: str
    seq: int
    now: datetime
    trigger: dict[str, Any]

    @property
    def idempotency_key(self) -> str:
        """The same key however often the step runs: `wf-<enrollment>-<seq>`."""
        return f"wf-{self.enrollment_id}-{self.seq}"


class StepFailed(Exception):
    """The step could not do its work now; it is retried with backoff, then the enrollment fails."""


class StepRefused(StepFailed):
    """The step can never succeed as written (an unknown user, a refused address): no retry."""
