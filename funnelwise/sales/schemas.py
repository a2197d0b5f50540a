"""The shapes lifecycle stages, teams, assignment, tasks, deals and accounts take at the edges."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Name = Field(min_length=1, max_length=255)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NameWarningOut(BaseModel):
    path: str
    message: str


# Lifecycle stages


class StageRuleIn(_Input):
    name: str = Name
    stage: str
    # Parsed by the service, so a bad node is named by its path (`condition.all[1].operator`).
    condition: dict[str, Any]
    is_active: bool = True


class StageRulePatch(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    stage: str | None = None
    condition: dict[str, Any] | None = None
    is_active: bool | None = None


class StageRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    stage: str
    condition: dict[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class StageRuleSaved(BaseModel):
    rule: StageRuleOut
    warnings: list[NameWarningOut]


class StageChange(BaseModel):
    """A contact entered a lifecycle stage: by a rule, or by a person (`forced` when it went back)."""

    contact_id: int
    from_stage: str | None
    to_stage: str
    at: datetime
    source: str
    rule_id: int | None = None
    rule_name: str | None = None
    user_id: int | None = None
    forced: bool = False
    reason: str = ""


class StageChangeIn(_Input):
    stage: str
    force: bool = Field(default=False, description="Allow a move back (or out of disqualified)")
    user_id: int | None = Field(default=None, ge=1, description="The team member making the change")
    reason: str = Field(default="", max_length=2000)


class StageChangeOut(BaseModel):
    contact_id: int
    stage: str | None
    changed: bool
    change: StageChange | None


class StageHistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    from_stage: str | None
    to_stage: str
    entered_at: datetime
    source: str
    rule_id: int | None
    user_id: int | None
    forced: bool
    reason: str


class StagePassOut(BaseModel):
    """What a full pass of the stage rules did: how many contacts entered each stage."""

    changed: int
    entered: dict[str, int]


# Teams and assignment


class TeamIn(_Input):
    name: str = Name
    manager_id: int | None = Field(default=None, ge=1)
    member_ids: list[int] = Field(default_factory=list, max_length=1000)


class TeamPatch(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    manager_id: int | None = Field(default=None, ge=1)


class TeamMembersIn(_Input):
    user_ids: list[int] = Field(min_length=1, max_length=1000)


class TeamOut(BaseModel):
    id: int
    name: str
    manager_id: int | None
    member_ids: list[int]
    created_at: datetime
    updated_at: datetime


class AssignmentRuleIn(_Input):
    """Unowned contacts matching `condition` go to `user_id`, or in turn to the members of `team_id`."""

    name: str = Name
    condition: dict[str, Any]
    team_id: int | None = Field(default=None, ge=1)
    user_id: int | None = Field(default=None, ge=1)
    position: int | None = Field(default=None, ge=0, description="Rules are tried in this order")
    is_active: bool = True


class AssignmentRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    position: int
    condition: dict[str, Any]
    team_id: int | None
    user_id: int | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class AssignmentRuleSaved(BaseModel):
    rule: AssignmentRuleOut
    warnings: list[NameWarningOut]


class Assignment(BaseModel):
    """A contact got an owner: its company's owner, or by a rule (directly or in turn within a team)."""

    contact_id: int
    owner_id: int
    via: str
    rule_id: int | None = None
    team_id: int | None = None
    at: datetime


class AssignIn(_Input):
    contact_ids: list[int] = Field(min_length=1, max_length=10_000)


# Tasks, SLAs and escalation


class SlaPolicyIn(_Input):
    name: str = Name
    stage: str
    within_minutes: int = Field(ge=1, le=525_600)
    task_title: str = Field(default="Follow up", min_length=1, max_length=255)
    escalate_to_manager: bool = True
    escalate_email: str | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)
    is_active: bool = True


class SlaPolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    stage: str
    within_minutes: int
    task_title: str
    escalate_to_manager: bool
    escalate_email: str | None
    webhook_url: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class SlaPolicyCreated(BaseModel):
    """A new policy; `webhook_secret` signs its webhooks and is shown only this once."""

    policy: SlaPolicyOut
    webhook_secret: str | None


class TaskIn(_Input):
    title: str = Name
    due_at: datetime
    contact_id: int | None = Field(default=None, ge=1)
    company_id: int | None = Field(default=None, ge=1)
    deal_id: int | None = Field(default=None, ge=1)
    owner_id: int | None = Field(default=None, ge=1)
    notes: str = Field(default="", max_length=10_000)


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    notes: str
    contact_id: int | None
    company_id: int | None
    deal_id: int | None
    owner_id: int | None
    due_at: datetime
    status: str
    completed_at: datetime | None
    sla_policy_id: int | None
    escalated_at: datetime | None
    created_at: datetime


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    channel: str
    target: str
    idempotency_key: str
    status: str
    attempts: int
    sent_at: datetime | None
    error: str


class EscalationReport(BaseModel):
    """One run of `escalate_overdue`: tasks found overdue, and how their messages fared."""

    overdue_tasks: int
    queued: int
    sent: int
    retrying: int
    failed: int
    unknown: int


# Deals


class PipelineStageIn(_Input):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Name
    probability: int = Field(ge=0, le=100)
    outcome: str = Field(default="open", pattern=r"^(open|won|lost)$")


class PipelineIn(_Input):
    name: str = Name
    stages: list[PipelineStageIn] = Field(min_length=2, max_length=50)


class PipelineStageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    position: int
    probability: int
    outcome: str


class PipelineOut(BaseModel):
    id: int
    name: str
    stages: list[PipelineStageOut]


class DealIn(_Input):
    name: str = Name
    amount: int | float | str = Field(description="KRW by default: 39000, '39,000원' or '₩39,000'")
    currency: str = "KRW"
    pipeline_id: int | None = Field(default=None, ge=1)
    stage: str | None = Field(default=None, description="A stage key; default the pipeline's first")
    contact_id: int | None = Field(default=None, ge=1)
    company_id: int | None = Field(default=None, ge=1)
    owner_id: int | None = Field(default=None, ge=1)
    expected_close_on: date | None = None


class DealPatch(_Input):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    amount: int | float | str | None = None
    owner_id: int | None = Field(default=None, ge=1)
    expected_close_on: date | None = None


class DealMoveIn(_Input):
    stage: str = Field(description="The key of a stage of the deal's pipeline")
    close_reason: str | None = Field(default=None, max_length=2000)


class DealOut(BaseModel):
    id: int
    name: str
    pipeline_id: int
    stage: str
    stage_name: str
    probability: int
    outcome: str
    amount: int
    currency: str
    weighted_amount: int
    contact_id: int | None
    company_id: int | None
    owner_id: int | None
    expected_close_on: date | None
    close_reason: str | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


# Accounts


class MemberEngagement(BaseModel):
    contact_id: int
    email: str | None
    job_level: str | None
    lifecycle_stage: str | None
    owner_id: int | None
    events: int
    engaged: bool
    in_buying_committee: bool
    scores: dict[str, Any] | None = None


class DealTotals(BaseModel):
    open: int
    open_amount: int
    weighted_amount: int
    won: int
    won_amount: int
    lost: int


class AccountOut(BaseModel):
    """A company with its people rolled up: stages, owners, recent engagement, deals (and scores)."""

    company_id: int
    name: str
    domain: str | None
    owner_id: int | None
    contacts: int
    stages: dict[str, int]
    owners: dict[str, int]
    window_days: int
    events: int
    engaged_contacts: int
    buying_committee: int
    engaged_buying_committee: int
    deals: DealTotals
    scores: dict[str, Any] | None
    members: list[MemberEngagement]
