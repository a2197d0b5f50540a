"""The shapes segments, lists and their members take at the edges (API, CLI)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


Name = Field(min_length=1, max_length=255)


class SegmentIn(_Input):
    name: str = Name
    description: str = ""
    # Parsed by the service, so a bad node is named by its path (`condition.all[1].operator`).
    condition: dict[str, Any]


class SegmentPatch(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    condition: dict[str, Any] | None = None


class SegmentOut(BaseModel):
    id: int
    name: str
    description: str
    condition: dict[str, Any]
    member_count: int
    created_at: datetime
    updated_at: datetime
    refreshed_at: datetime | None


class NameWarningOut(BaseModel):
    path: str
    message: str


class SegmentSaved(BaseModel):
    """A created or changed segment, and the names in its condition nothing defines yet."""

    segment: SegmentOut
    warnings: list[NameWarningOut]


class PreviewIn(_Input):
    condition: dict[str, Any]
    sample_size: int = Field(default=10, ge=0, le=100)


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str | None
    phone: str | None
    user_id: str | None
    first_name: str | None
    last_name: str | None


class PreviewOut(BaseModel):
    """Who an unsaved condition matches now: how many, and the first few by id."""

    count: int
    sample: list[MemberOut]
    warnings: list[NameWarningOut]


class Change(StrEnum):
    ENTERED = "entered"
    EXITED = "exited"


class MembershipChange(BaseModel):
    segment_id: int
    segment_name: str
    contact_id: int
    change: Change
    at: datetime


class RefreshOut(BaseModel):
    segment_id: int
    segment_name: str
    entered: int
    exited: int
    members: int


class ListIn(_Input):
    name: str = Name
    description: str = ""


class ListOut(BaseModel):
    id: int
    name: str
    description: str
    member_count: int
    created_at: datetime
    updated_at: datetime


class MembersIn(_Input):
    """Contacts named by id, email or user id; up to 10,000 in one request."""

    contact_ids: list[int] = Field(default_factory=list, max_length=10_000)
    emails: list[str] = Field(default_factory=list, max_length=10_000)
    user_ids: list[str] = Field(default_factory=list, max_length=10_000)


class ListChangeOut(BaseModel):
    """How many contacts a request added (or removed), how many were so already, and who was not found."""

    changed: int
    unchanged: int
    not_found: list[str]


class RowErrorOut(BaseModel):
    line: int
    reason: str


class ListImportOut(BaseModel):
    rows: int
    added: int
    unchanged: int
    failed: int
    errors: list[RowErrorOut]
