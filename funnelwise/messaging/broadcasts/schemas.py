"""The shapes a broadcast takes at the edges (API, CLI): its definition, its state, its figures."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator


class BroadcastStatus(StrEnum):
    """draft → scheduled → sending → (testing → sending) → sent, or cancelled on the way."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    TESTING = "testing"
    SENT = "sent"
    CANCELLED = "cancelled"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariantIn(_Input):
    name: str = Field(min_length=1, max_length=64)
    template: str = Field(min_length=1, max_length=255)


class AbTestIn(_Input):
    """Variants tried on a sample of the audience; after `wait_hours` the winner goes to the rest."""

    variants: list[VariantIn] = Field(min_length=2, max_length=5)
    sample_percent: int = Field(ge=1, le=50)
    metric: Literal["open", "click"] = "open"
    wait_hours: float = Field(gt=0, le=24 * 30)

    @field_validator("variants")
    @classmethod
    def _distinct_names(cls, variants: list[VariantIn]) -> list[VariantIn]:
        names = [variant.name for variant in variants]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"variant names must differ; repeated: {', '.join(repeated)}")
        return variants


class BroadcastIn(_Input):
    """A broadcast's definition; `template` may be left out when `ab` names the variants' templates."""

    name: str = Field(min_length=1, max_length=255)
    template: str | None = Field(default=None, min_length=1, max_length=255)
    segment: str | int | None = None
    list: str | int | None = None
    scheduled_at: AwareDatetime | None = None
    throttle_per_minute: int | None = Field(default=None, ge=1)
    send_time_optimization: bool = False
    ab: AbTestIn | None = None
    conversion_event: str | None = Field(default=None, min_length=1, max_length=255)


class ScheduleIn(_Input):
    scheduled_at: AwareDatetime


class BroadcastOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    channel: str
    template: str
    segment_id: int | None
    list_id: int | None
    status: BroadcastStatus
    scheduled_at: datetime | None
    throttle_per_minute: int | None
    send_time_optimization: bool
    ab: dict[str, Any] | None
    winner: str | None
    conversion_event: str | None
    audience: int
    started_at: datetime | None
    tested_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Rates(BaseModel):
    """Each outcome over the messages sent; null while nothing is sent."""

    delivered: float | None
    opened: float | None
    clicked: float | None
    bounced: float | None
    complained: float | None
    unsubscribed: float | None
    converted: float | None


class Figures(BaseModel):
    """What became of a group of messages: where each is now and what its recipient did."""

    audience: int
    messages: int
    queued: int
    sending: int
    sent: int
    failed: int
    suppressed: int
    unknown: int
    delivered: int
    opened: int
    clicked: int
    bounced: int
    complained: int
    unsubscribed: int
    converted: int
    rates: Rates


class VariantFigures(Figures):
    variant: str


class BroadcastFigures(BaseModel):
    """The whole broadcast, and each A/B variant (the rest's messages count under the winner)."""

    broadcast_id: int
    conversion_event: str | None
    total: Figures
    variants: list[VariantFigures]


class BroadcastDetail(BroadcastOut):
    figures: BroadcastFigures


class StepFigures(Figures):
    step_id: str | None


class WorkflowFigures(BaseModel):
    """A workflow's messages, in all and by send step."""

    workflow_id: int
    total: Figures
    steps: list[StepFigures]
