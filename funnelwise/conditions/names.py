"""Warnings about names a tree uses that nothing defines yet: allowed, but probably a typo."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from funnelwise.conditions.columns import COMPANY_COLUMNS, CONTACT_COLUMNS
from funnelwise.conditions.tree import (
    CompanyProperty,
    Condition,
    ContactProperty,
    event_name,
    event_names,
    walk,
)
from funnelwise.contacts.models import PropertyDefinition
from funnelwise.contacts.properties import ObjectType
from funnelwise.tracking.models import Event


@dataclass(frozen=True)
class NameWarning:
    path: str
    message: str


def check_names(session: Session, tree: Condition) -> list[NameWarning]:
    """A warning for every custom property nobody defined and every event never recorded."""
    nodes = list(walk(tree))
    defined = {
        (object_type, name)
        for object_type, name in session.execute(
            select(PropertyDefinition.object_type, PropertyDefinition.name)
        )
    }
    recorded = _recorded_events(session, event_names(tree))
    warnings: list[NameWarning] = []
    for path, node in nodes:
        at = path or "condition"
        unknown = _undefined_property(node, defined)
        if unknown:
            warnings.append(NameWarning(at, unknown))
        name = event_name(node)
        if name is not None and name not in recorded:
            warnings.append(NameWarning(at, _unknown_event(name, recorded)))
    return warnings


def _undefined_property(node: Condition, defined: set[tuple[str, str]]) -> str | None:
    if isinstance(node, ContactProperty):
        object_type, name, columns = ObjectType.CONTACT, node.property, CONTACT_COLUMNS
    elif isinstance(node, CompanyProperty):
        object_type, name, columns = ObjectType.COMPANY, node.company, COMPANY_COLUMNS
    else:
        return None
    if name in columns or (object_type, name) in defined:
        return None
    return f"no {object_type} property is named {name!r} yet"


def _recorded_events(session: Session, names: Iterable[str]) -> set[str]:
    """Which of these names (or the same names in another case) some event has; one indexed query."""
    folded = sorted({name.casefold() for name in names})
    if not folded:
        return set()
    return set(session.scalars(select(Event.name).where(func.lower(Event.name).in_(folded)).distinct()))


def _unknown_event(name: str, recorded: set[str]) -> str:
    similar = sorted(known for known in recorded if known.casefold() == name.casefold())
    hint = f"; did you mean {similar[0]!r}? Event names match exactly" if similar else ""
    return f"no event named {name!r} has been recorded yet{hint}"
