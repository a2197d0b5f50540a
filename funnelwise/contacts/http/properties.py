"""/api/v1/properties/{contact|company}: the typed custom property definitions."""

from fastapi import APIRouter, Depends, status
from fastapi.responses import Response

from funnelwise.api.deps import ContextDep, SessionDep, require
from funnelwise.contacts.properties import ObjectType
from funnelwise.contacts.property_definitions import (
    create_definition,
    delete_definition,
    get_definition,
    list_definitions,
    update_definition,
)
from funnelwise.contacts.schemas import PropertyDefinitionIn, PropertyDefinitionOut, PropertyDefinitionPatch

router = APIRouter(prefix="/properties", tags=["properties"])
Read = Depends(require("contacts:read"))
Write = Depends(require("contacts:write"))


@router.get("/{object_type}", dependencies=[Read])
def search(session: SessionDep, object_type: ObjectType) -> list[PropertyDefinitionOut]:
    return list_definitions(session, object_type)


@router.post("/{object_type}", status_code=status.HTTP_201_CREATED, dependencies=[Write])
def create(
    session: SessionDep, ctx: ContextDep, object_type: ObjectType, body: PropertyDefinitionIn
) -> PropertyDefinitionOut:
    return create_definition(session, ctx, object_type, body)


@router.get("/{object_type}/{name}", dependencies=[Read])
def read(session: SessionDep, object_type: ObjectType, name: str) -> PropertyDefinitionOut:
    return get_definition(session, object_type, name)


@router.patch("/{object_type}/{name}", dependencies=[Write])
def update(
    session: SessionDep, ctx: ContextDep, object_type: ObjectType, name: str, body: PropertyDefinitionPatch
) -> PropertyDefinitionOut:
    return update_definition(session, ctx, object_type, name, body)


@router.delete("/{object_type}/{name}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Write])
def delete(session: SessionDep, object_type: ObjectType, name: str) -> Response:
    """Deletes the definition and every value stored under it."""
    delete_definition(session, object_type, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
