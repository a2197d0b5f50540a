"""Imports every model so that the metadata is complete for Alembic and tests."""

from funnelwise.auth.models import ApiKey, User
from funnelwise.commerce.models import Order, OrderItem, Product
from funnelwise.contacts.models import Company, Contact, ContactIdentity, PropertyDefinition
from funnelwise.db.base import Base
from funnelwise.messaging.models import Broadcast, Consent, MessageTemplate, Suppression
from funnelwise.messaging.outbox import OutboxMessage
from funnelwise.reactions.models import DueContact
from funnelwise.sales.models import (
    AssignmentRule,
    Deal,
    DealStageChange,
    Escalation,
    Pipeline,
    PipelineStage,
    SalesTask,
    SalesTeam,
    SalesTeamMember,
    SlaPolicy,
    StageHistory,
    StageRule,
)
from funnelwise.scoring.models import ContactScore, ScoreModel, ScoreModelVersion
from funnelwise.segments.models import Segment, SegmentMembership, StaticList, StaticListMember
from funnelwise.tracking.models import (
    AnonymousProfile,
    Event,
    Form,
    FormSubmission,
    IngestWarning,
    IntakeMessage,
    Source,
)
from funnelwise.workflows.models import Enrollment, ScheduleFiring, StepRun, Workflow, WorkflowVersion

__all__ = [
    "AnonymousProfile",
    "ApiKey",
    "AssignmentRule",
    "Base",
    "Broadcast",
    "Company",
    "Consent",
    "Contact",
    "ContactIdentity",
    "ContactScore",
    "Deal",
    "DealStageChange",
    "DueContact",
    "Enrollment",
    "Escalation",
    "Event",
    "Form",
    "FormSubmission",
    "IngestWarning",
    "IntakeMessage",
    "MessageTemplate",
    "Order",
    "OrderItem",
    "OutboxMessage",
    "Pipeline",
    "PipelineStage",
    "Product",
    "PropertyDefinition",
    "SalesTask",
    "SalesTeam",
    "SalesTeamMember",
    "ScheduleFiring",
    "ScoreModel",
    "ScoreModelVersion",
    "Segment",
    "SegmentMembership",
    "SlaPolicy",
    "Source",
    "StageHistory",
    "StageRule",
    "StaticList",
    "StaticListMember",
    "StepRun",
    "Suppression",
    "User",
    "Workflow",
    "WorkflowVersion",
]
