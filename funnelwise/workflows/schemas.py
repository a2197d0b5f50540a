"""The shapes workflows take at the edges (API, CLI)."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class Status(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"


class ProblemOut(BaseModel):
    """Something in a definition that is allowed but probably a mistake, by its path."""

    path: str
    message: str


class ValidationOut(BaseModel):
    name: str
    steps: int
    warnings: list[ProblemOut]


class VersionOut(BaseModel):
    version: int
    definition: dict[str, Any]
    created_at: datetime


class WorkflowOut(BaseModel):
    id: int
    name: str
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime


class WorkflowDetail(WorkflowOut):
    versions: list[VersionOut]


class WorkflowSaved(BaseModel):
    """An applied definition: the workflow, whether this made a new version, and the warnings."""

    workflow: WorkflowOut
    created: bool
    changed: bool
    warnings: list[ProblemOut]


# Ids are 64-bit integers in both databases; a larger one names no contact and no driver binds it.
ContactId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class EnrollIn(BaseModel):
    """Contacts to enroll by hand; `key` names the request so that sending it twice enrolls once."""

    model_config = ConfigDict(extra="forbid")

    contact_ids: list[ContactId] = Field(max_length=10_000)
    key: str | None = Field(default=None, min_length=1, max_length=200)


class SkippedOut(BaseModel):
    contact_id: int
    reason: str


class EnrollOut(BaseModel):
    enrolled: list[int]
    skipped: list[SkippedOut]


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    EXITED = "exited"
    CONVERTED = "converted"
    FAILED = "failed"


class StepCountsOut(BaseModel):
    """One step of one version: how many enrollments reached it, wait there, went on or ended there.

    `entered` counts enrollments that reached the step (once each, however often a loop brings
    them back); `waiting` the live ones standing at it now; `completed` those the step let go on
    (or reach the end); `exited`, `converted` and `failed` those whose journey ended at it (one
    that ends at a step counts there, even if a loop let it go on from it before).
    """

    step_id: str
    type: str
    entered: int
    waiting: int
    completed: int
    exited: int
    converted: int
    failed: int


class VersionTotalsOut(BaseModel):
    """The enrollments of one version by their status; `enrolled` is all of them."""

    enrolled: int
    active: int
    completed: int
    exited: int
    converted: int
    failed: int


class VersionStatusOut(BaseModel):
    version: int
    steps: list[StepCountsOut]
    totals: VersionTotalsOut


class WorkflowStatusOut(BaseModel):
    """Where the contacts of a workflow are, per version (newest first) and step (in definition order)."""

    id: int
    name: str
    status: Status
    version: int
    versions: list[VersionStatusOut]


class EnrollmentOut(BaseModel):
    """One enrollment; `due_at` and `waiting_for` (an event) only while it is active."""

    id: int
    contact_id: int
    version: int
    status: EnrollmentStatus
    reason: str | None
    step_id: str
    step_entered_at: datetime
    due_at: datetime | None
    waiting_for: str | None
    attempts: int
    last_error: str | None
    enrolled_at: datetime
    finished_at: datetime | None


class StepTakenOut(BaseModel):
    """A step an enrollment took: `type` is `leave` when it left there by the goal or an exit condition."""

    step_id: str
    type: str
    entered_at: datetime
    left_at: datetime
    outcome: str


class JourneyOut(BaseModel):
    """A contact's path through one workflow: the steps taken, and where it stands when still active."""

    enrollment_id: int
    workflow_id: int
    workflow: str
    version: int
    status: EnrollmentStatus
    reason: str | None
    enrolled_at: datetime
    finished_at: datetime | None
    current_step: str | None
    due_at: datetime | None
    waiting_for: str | None
    attempts: int
    last_error: str | None
    steps: list[StepTakenOut]


class MigrateIn(BaseModel):
    """The version to move live enrollments to; none means the current (newest) version."""

    model_config = ConfigDict(extra="forbid")

    to_version: int | None = Field(default=None, ge=1)


class StrandedOut(BaseModel):
    """Live enrollments left on their version: their step is not in the target version."""

    version: int
    step_id: str
    count: int


class MigrateOut(BaseModel):
    to_version: int
    moved: int
    stranded: list[StrandedOut]
