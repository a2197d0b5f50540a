"""Workflows and their versions: every applied change of a definition is a new, immutable version."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from funnelwise.db.base import Base
from funnelwise.db.types import BigIntId, JSONDoc, UTCDateTime


class Workflow(Base):
    """A named journey; `status` is draft, active or paused. Its definition lives in its versions."""

    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When it last became active: what happened before does not enroll anyone.
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkflowVersion(Base):
    """One definition of a workflow, never changed once written; the highest number is the current one."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Enrollment(Base):
    """One contact's journey through one workflow version: where it is, and when it runs next.

    `status` is active (live: at `step_id`, due at `due_at`), completed, exited, converted or failed.
    `seq` counts the steps taken; a step's effects are keyed by (enrollment, seq), so a step that
    runs again after a crash finds its effect written and writes nothing twice.
    """

    __tablename__ = "workflow_enrollments"
    __table_args__ = (
        UniqueConstraint("workflow_id", "contact_id", "trigger_key"),
        # At most one live enrollment per contact and workflow.
        Index(
            "uq_workflow_enrollments_live",
            "workflow_id",
            "contact_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "ix_workflow_enrollments_due",
            "due_at",
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_workflow_enrollments_contact_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workflows.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workflow_versions.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    contact_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("contacts.id", ondelete="CASCADE"))
    trigger_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    step_id: Mapped[str] = mapped_column(String(64))
    step_entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    wait_event: Mapped[str | None] = mapped_column(String(255), nullable=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StepRun(Base):
    """One step an enrollment took: when it entered and left it, and which way it went on."""

    __tablename__ = "workflow_step_runs"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "seq"),
        Index("ix_workflow_step_runs_workflow_step", "workflow_id", "version", "step_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("workflow_enrollments.id", ondelete="CASCADE")
    )
    workflow_id: Mapped[int] = mapped_column(BigIntId)
    version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(64))
    step_type: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(255))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduleFiring(Base):
    """A time-driven trigger that has fired: a cron time or a day of a date property, never twice."""

    __tablename__ = "workflow_firings"
    __table_args__ = (UniqueConstraint("workflow_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("workflows.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enrolled: Mapped[int] = mapped_column(Integer)
