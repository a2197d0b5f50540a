"""Imports every model so that the metadata is complete for Alembic and tests."""

from funnelwise.auth.models import ApiKey, User
from funnelwise.contacts.models import Company, Contact, ContactIdentity, PropertyDefinition
from funnelwise.db.base import Base
from funnelwise.tracking.models import Event

__all__ = [
    "ApiKey",
    "Base",
    "Company",
    "Contact",
    "ContactIdentity",
    "Event",
    "PropertyDefinition",
    "User",
]
