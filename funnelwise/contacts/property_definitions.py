"""Defining custom properties, and loading the checker that every write goes through."""

from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from funnelwise.contacts.fields import CONTACT_FIELDS
from funnelwise.contacts.models import Company, Contact, PropertyDefinition
from funnelwise.contacts.properties import (
    EnumOption,
    ObjectType,
    PropertyCoercer,
    PropertySpec,
    PropertyType,
)
from funnelwise.contacts.schemas import (
    EnumOptionIn,
    PropertyDefinitionIn,
    PropertyDefinitionOut,
    PropertyDefinitionPatch,
)
from funnelwise.context import Context
from funnelwise.errors import Conflict, InvalidInput, NotFound

COMPANY_FIELDS = ("name", "domain", "industry", "size_band", "owner_id")
_COMMON = {"id", "created_at", "updated_at", "properties"}
_RESERVED = {
    # `name` and `title` too: tracking traits and form fields of those names fill built-in fields.
    ObjectType.CONTACT: {
        *CONTACT_FIELDS,
        "company",
        "owner",
        "name",
        "title",
        "first_touch",
        "last_touch",
        *_COMMON,
    },
    ObjectType.COMPANY: {*COMPANY_FIELDS, *_COMMON},
}
_CHOICE_TYPES = {PropertyType.ENUM, PropertyType.MULTI_ENUM}


def create_definition(
    session: Session, ctx: Context, object_type: ObjectType, data: PropertyDefinitionIn
) -> PropertyDefinitionOut:
    if data.name in _RESERVED[object_type]:
        raise InvalidInput.single("name", f"{data.name!r} is a built-in {object_type} field")
    options = _options(data.type, data.options)
    now = ctx.clock.now()
    definition = PropertyDefinition(
        object_type=object_type.value,
        name=data.name,
        label=data.label,
        type=data.type.value,
        options=options,
        description=data.description,
        created_at=now,
        updated_at=now,
    )
    try:
        # A savepoint, so a duplicate undoes only this definition, not the caller's other work.
        with session.begin_nested():
            session.add(definition)
    except IntegrityError:
        raise Conflict("name", f"a {object_type} property named {data.name!r} exists already") from None
    return _out(definition)


def list_definitions(session: Session, object_type: ObjectType) -> list[PropertyDefinitionOut]:
    rows = session.scalars(
        select(PropertyDefinition)
        .where(PropertyDefinition.object_type == object_type.value)
        .order_by(PropertyDefinition.name)
    )
    return [_out(row) for row in rows]


def get_definition(session: Session, object_type: ObjectType, name: str) -> PropertyDefinitionOut:
    return _out(_load(session, object_type, name))


def update_definition(
    session: Session,
    ctx: Context,
    object_type: ObjectType,
    name: str,
    patch: PropertyDefinitionPatch,
) -> PropertyDefinitionOut:
    definition = _load(session, object_type, name)
    if patch.label is not None:
        definition.label = patch.label
    if patch.description is not None:
        definition.description = patch.description
    if patch.options is not None:
        definition.options = _options(PropertyType(definition.type), patch.options)
    definition.updated_at = ctx.clock.now()
    session.flush()
    return _out(definition)


def delete_definition(session: Session, object_type: ObjectType, name: str) -> None:
    """Removes the definition and the values stored under it, inside the database."""
    definition = _load(session, object_type, name)
    model = Contact if object_type is ObjectType.CONTACT else Company
    session.execute(
        update(model)
        .where(_has_key(session, model, name))
        .values(properties=_without_key(session, model, name))
    )
    session.delete(definition)
    session.flush()


def load_coercer(session: Session, ctx: Context, object_type: ObjectType) -> PropertyCoercer:
    rows = session.scalars(
        select(PropertyDefinition).where(PropertyDefinition.object_type == object_type.value)
    )
    specs = [
        PropertySpec(
            name=row.name,
            type=PropertyType(row.type),
            label=row.label,
            options=tuple(EnumOption(o["value"], o["label"]) for o in row.options),
        )
        for row in rows
    ]
    return PropertyCoercer(specs, ctx.settings.tz)


def _has_key(session: Session, model: type[Contact] | type[Company], name: str) -> ColumnElement[bool]:
    """Rows whose properties hold `name`; on SQLite `properties[name]` is never NULL (JSON_QUOTE)."""
    if session.get_bind().dialect.name == "postgresql":
        return model.properties[name].is_not(None)
    return func.json_type(model.properties, f'$."{name}"').is_not(None)


def _without_key(session: Session, model: type[Contact] | type[Company], name: str) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return model.properties.op("-")(name)
    return func.json_remove(model.properties, f'$."{name}"')


def _options(kind: PropertyType, options: list[EnumOptionIn]) -> list[dict[str, str]]:
    if kind in _CHOICE_TYPES and not options:
        raise InvalidInput.single("options", f"a {kind} property needs at least one option")
    if kind not in _CHOICE_TYPES and options:
        raise InvalidInput.single("options", f"only enum and multi_enum properties take options, not {kind}")
    values = [option.value for option in options]
    if len(set(values)) != len(values):
        raise InvalidInput.single("options", "option values must be unique")
    return [{"value": o.value, "label": o.label or o.value} for o in options]


def _load(session: Session, object_type: ObjectType, name: str) -> PropertyDefinition:
    definition = session.scalar(
        select(PropertyDefinition).where(
            PropertyDefinition.object_type == object_type.value, PropertyDefinition.name == name
        )
    )
    if definition is None:
        raise NotFound(f"{object_type} property", name)
    return definition


def _out(definition: PropertyDefinition) -> PropertyDefinitionOut:
    return PropertyDefinitionOut(
        object_type=ObjectType(definition.object_type),
        name=definition.name,
        label=definition.label,
        type=PropertyType(definition.type),
        options=definition.options,
        description=definition.description,
        created_at=definition.created_at,
        updated_at=definition.updated_at,
    )
