"""Lifecycle stage rules and history, sales teams, assignment rules, SLA tasks and escalations, deals."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class StageRule(Base):
    """Contacts matching `condition` move forward to `stage`."""

    __tablename__ = "stage_rules"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    stage: Mapped[str] = mapped_column(String(32))
    condition: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StageHistory(Base):
    """One stage a contact entered and when: lead time and stage conversion are read from these rows."""

    __tablename__ = "lifecycle_stage_history"
    __table_args__ = (
        Index("ix_lifecycle_stage_history_contact_id_entered_at", "contact_id", "entered_at"),
        Index("ix_lifecycle_stage_history_to_stage_entered_at", "to_stage", "entered_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_stage: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # rule (a stage rule moved it), user (someone moved it with POST …/stage or the CLI), api (set as a
    # contact field through the contacts API) or import (set by a contact import).
    source: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("stage_rules.id", ondelete="SET NULL"), nullable=True
    )
    user_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")


class SalesTeam(Base):
    """Salespeople who share leads in turn; `turns` counts the turns handed out so far."""

    __tablename__ = "sales_teams"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    manager_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    turns: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SalesTeamMember(Base):
    __tablename__ = "sales_team_members"
    __table_args__ = (Index("ix_sales_team_members_user_id", "user_id"),)

    team_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("sales_teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssignmentRule(Base):
    """Unowned contacts matching `condition` go to `user_id`, or in turn to a member of `team_id`."""

    __tablename__ = "assignment_rules"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    condition: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    team_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("sales_teams.id", ondelete="CASCADE"), nullable=True
    )
    user_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlaPolicy(Base):
    """A contact entering `stage` gets a follow-up task due `within_minutes` later."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    within_minutes: Mapped[int] = mapped_column(Integer)
    task_title: Mapped[str] = mapped_column(String(255))
    escalate_to_manager: Mapped[bool] = mapped_column(Boolean, default=True)
    escalate_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # Signs the webhook's payload; shown once, when the policy is created.
    webhook_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SalesTask(Base):
    """Something a salesperson must do by `due_at`; an open task past it is escalated once."""

    __tablename__ = "sales_tasks"
    __table_args__ = (
        Index("ix_sales_tasks_status_due_at", "status", "due_at"),
        Index("ix_sales_tasks_owner_id_status", "owner_id", "status"),
        Index("ix_sales_tasks_contact_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=True
    )
    company_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("companies.id", ondelete="CASCADE"), nullable=True
    )
    deal_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("deals.id", ondelete="CASCADE"), nullable=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    title: Mapped[str] = mapped_column(String(255))
    notes: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # open, done or cancelled
    status: Mapped[str] = mapped_column(String(16))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sla_policy_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("sla_policies.id", ondelete="SET NULL"), nullable=True
    )
    # What made the task, so that making it again makes nothing: `sla-3-stage-17`.
    source_key: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Escalation(Base):
    """One message about an overdue task, in the outbox: unique on its idempotency key."""

    __tablename__ = "sales_escalations"
    __table_args__ = (Index("ix_sales_escalations_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("sales_tasks.id", ondelete="CASCADE"), index=True
    )
    # email or webhook
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    # pending, sending, sent, failed, unknown (the send may have happened: never retried)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Pipeline(Base):
    __tablename__ = "deal_pipelines"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PipelineStage(Base):
    """A step of a pipeline with the chance (0 to 100) that a deal in it closes won."""

    __tablename__ = "deal_stages"
    __table_args__ = (UniqueConstraint("pipeline_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("deal_pipelines.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)
    # open, won or lost
    outcome: Mapped[str] = mapped_column(String(8))


class Deal(Base):
    """A sale in progress; the amount is in the currency's minor unit (won for KRW)."""

    __tablename__ = "deals"
    __table_args__ = (Index("ix_deals_pipeline_id_stage_id", "pipeline_id", "stage_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    pipeline_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("deal_pipelines.id"))
    stage_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("deal_stages.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    contact_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("contacts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    company_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    expected_close_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DealStageChange(Base):
    __tablename__ = "deal_stage_history"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    deal_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    from_stage_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("deal_stages.id", ondelete="SET NULL"), nullable=True
    )
    to_stage_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("deal_stages.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
