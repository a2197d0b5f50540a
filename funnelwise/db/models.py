"""Imports every model so that the metadata is complete for Alembic and tests."""

from funnelwise.auth.models import ApiKey, User
from funnelwise.commerce.models import Order, OrderItem, Product
from funnelwise.contacts.models import Company, Contact, ContactIdentity, PropertyDefinition
from funnelwise.db.base import Base
from funnelwise.messaging.models import Consent
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

__all__ = [
    "AnonymousProfile",
    "ApiKey",
    "Base",
    "Company",
    "Consent",
    "Contact",
    "ContactIdentity",
    "ContactScore",
    "Event",
    "Form",
    "FormSubmission",
    "IngestWarning",
    "IntakeMessage",
    "Order",
    "OrderItem",
    "Product",
    "PropertyDefinition",
    "ScoreModel",
    "ScoreModelVersion",
    "Segment",
    "SegmentMembership",
    "Source",
    "StaticList",
    "StaticListMember",
    "User",
]
