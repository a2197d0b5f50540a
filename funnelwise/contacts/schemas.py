"""The shapes contacts, companies and property definitions take at the edges (API, CLI)."""

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from funnelwise.contacts.properties import ObjectType, PropertyType

T = TypeVar("T")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnumOptionIn(_Input):
    value: str = Field(min_length=1, max_length=255)
    label: str | None = Field(default=None, max_length=255)


class PropertyDefinitionIn(_Input):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="snake_case, a-z first")
    label: str = Field(min_length=1, max_length=255)
    type: PropertyType
    options: list[EnumOptionIn] = Field(default_factory=list)
    description: str = ""


class PropertyDefinitionPatch(_Input):
    label: str | None = Field(default=None, min_length=1, max_length=255)
    options: list[EnumOptionIn] | None = None
    description: str | None = None


class EnumOptionOut(BaseModel):
    value: str
    label: str


class PropertyDefinitionOut(BaseModel):
    object_type: ObjectType
    name: str
    label: str
    type: PropertyType
    options: list[EnumOptionOut]
    description: str
    created_at: datetime
    updated_at: datetime


class ContactIn(_Input):
    """A contact as sent to the API; values are checked and normalised by the service."""

    email: str | None = None
    phone: str | None = None
    user_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    job_level: str | None = None
    lifecycle_stage: str | None = None
    owner_id: int | None = None
    company_id: int | None = None
    timezone: str | None = None
    locale: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str | None
    phone: str | None
    user_id: str | None
    first_name: str | None
    last_name: str | None
    job_title: str | None
    job_level: str | None
    lifecycle_stage: str | None
    owner_id: int | None
    company_id: int | None
    timezone: str | None
    locale: str | None
    properties: dict[str, Any]
    first_touch: dict[str, Any] | None = None
    last_touch: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime


class CompanyIn(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    domain: str | None = None
    industry: str | None = Field(default=None, max_length=255)
    size_band: str | None = None
    owner_id: int | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class CompanyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    domain: str | None
    external_id: str | None = None
    industry: str | None
    size_band: str | None
    owner_id: int | None
    properties: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    results: list[T]
    next_cursor: str | None = None
