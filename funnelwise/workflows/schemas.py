"""The shapes workflows take at the edges (API, CLI)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel


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


class EnrollIn(BaseModel):
    """Contacts to enroll by hand; `key` names the request so that sending it twice enrolls once."""

    contact_ids: list[int]
    key: str | None = None


class SkippedOut(BaseModel):
    contact_id: int
    reason: str


class EnrollOut(BaseModel):
    enrolled: list[int]
    skipped: list[SkippedOut]
