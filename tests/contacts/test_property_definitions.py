"""Defining custom properties and living with them: on SQLite and on PostgreSQL."""

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SimulatedClock
from funnelwise.contacts.companies import create_company, get_company
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.contacts.property_definitions import (
    create_definition,
    delete_definition,
    get_definition,
    list_definitions,
    load_coercer,
    update_definition,
)
from funnelwise.contacts.schemas import (
    CompanyIn,
    ContactIn,
    EnumOptionIn,
    EnumOptionOut,
    PropertyDefinitionIn,
    PropertyDefinitionPatch,
)
from funnelwise.contacts.service import create_contact, get_contact, load_contact
from funnelwise.context import Context
from funnelwise.errors import Conflict, FieldError, InvalidInput, NotFound
from tests.conftest import START

CONTACT = ObjectType.CONTACT
COMPANY = ObjectType.COMPANY


def definition(
    name: str, type_: PropertyType = PropertyType.STRING, options: list[str] | None = None, **extra: str
) -> PropertyDefinitionIn:
    return PropertyDefinitionIn(
        name=name,
        label=extra.pop("label", name.title()),
        type=type_,
        options=[EnumOptionIn(value=o) for o in options or []],
        **extra,
    )


def test_a_definition_is_created_and_read_back(session: Session, ctx: Context) -> None:
    created = create_definition(
        session,
        ctx,
        CONTACT,
        PropertyDefinitionIn(
            name="tier",
            label="Tier",
            type=PropertyType.ENUM,
            options=[EnumOptionIn(value="gold", label="Gold"), EnumOptionIn(value="silver")],
            description="Loyalty tier",
        ),
    )
    session.commit()

    assert created.model_dump() == {
        "object_type": CONTACT,
        "name": "tier",
        "label": "Tier",
        "type": PropertyType.ENUM,
        "options": [{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "silver"}],
        "description": "Loyalty tier",
        "created_at": START,
        "updated_at": START,
    }
    assert get_definition(session, CONTACT, "tier") == created


def test_definitions_are_listed_by_name_per_object_type(session: Session, ctx: Context) -> None:
    for name in ("region", "budget", "newsletter"):
        create_definition(session, ctx, CONTACT, definition(name))
    create_definition(session, ctx, COMPANY, definition("arr", PropertyType.NUMBER))
    session.commit()

    assert [d.name for d in list_definitions(session, CONTACT)] == ["budget", "newsletter", "region"]
    assert [(d.name, d.type) for d in list_definitions(session, COMPANY)] == [("arr", PropertyType.NUMBER)]


def test_an_unknown_definition_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound) as missing:
        get_definition(session, CONTACT, "tier")
    assert str(missing.value) == "contact property 'tier' not found"


@pytest.mark.parametrize("type_", [PropertyType.ENUM, PropertyType.MULTI_ENUM])
def test_a_choice_property_needs_options(session: Session, ctx: Context, type_: PropertyType) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_definition(session, ctx, CONTACT, definition("tier", type_))
    assert refused.value.errors == [FieldError("options", f"a {type_} property needs at least one option")]


@pytest.mark.parametrize("type_", [PropertyType.STRING, PropertyType.NUMBER, PropertyType.DATE])
def test_only_choice_properties_take_options(session: Session, ctx: Context, type_: PropertyType) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_definition(session, ctx, CONTACT, definition("tier", type_, ["gold"]))
    assert refused.value.errors == [
        FieldError("options", f"only enum and multi_enum properties take options, not {type_}")
    ]


def test_option_values_must_be_unique(session: Session, ctx: Context) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_definition(session, ctx, CONTACT, definition("tier", PropertyType.ENUM, ["gold", "gold"]))
    assert refused.value.errors == [FieldError("options", "option values must be unique")]


@pytest.mark.parametrize(
    ("object_type", "name"),
    [(CONTACT, "email"), (CONTACT, "company"), (CONTACT, "title"), (CONTACT, "name"), (COMPANY, "domain")],
)
def test_a_built_in_field_name_cannot_be_a_property(
    session: Session, ctx: Context, object_type: ObjectType, name: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_definition(session, ctx, object_type, definition(name))
    assert refused.value.errors == [FieldError("name", f"{name!r} is a built-in {object_type} field")]


@pytest.mark.parametrize("name", ["Tier", "1tier", "loyalty-tier", "", "t" * 65])
def test_a_property_name_must_be_snake_case(name: str) -> None:
    with pytest.raises(ValidationError):
        definition(name)


def test_a_duplicate_name_is_a_conflict_naming_the_field(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions.begin() as session:
        create_definition(session, ctx, CONTACT, definition("tier", PropertyType.ENUM, ["gold"]))

    with sessions() as session, pytest.raises(Conflict) as conflict:
        create_definition(session, ctx, CONTACT, definition("tier", PropertyType.STRING))
    assert conflict.value.field == "name"
    assert str(conflict.value) == "name: a contact property named 'tier' exists already"

    with sessions() as session:
        assert [(d.name, d.type) for d in list_definitions(session, CONTACT)] == [("tier", PropertyType.ENUM)]


def test_a_duplicate_name_keeps_the_rest_of_the_transaction(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    """Defining two properties at once, the second a duplicate: the first is still there to commit."""
    with sessions.begin() as session:
        create_definition(session, ctx, CONTACT, definition("tier", PropertyType.ENUM, ["gold"]))

    with sessions() as session:
        create_definition(session, ctx, CONTACT, definition("region"))
        with pytest.raises(Conflict):
            create_definition(session, ctx, CONTACT, definition("tier"))
        session.commit()

    with sessions() as session:
        assert [d.name for d in list_definitions(session, CONTACT)] == ["region", "tier"]


def test_the_same_name_may_be_used_for_contacts_and_companies(session: Session, ctx: Context) -> None:
    create_definition(session, ctx, CONTACT, definition("region"))
    create_definition(session, ctx, COMPANY, definition("region"))
    session.commit()

    assert get_definition(session, CONTACT, "region").object_type is CONTACT
    assert get_definition(session, COMPANY, "region").object_type is COMPANY


def test_label_description_and_options_can_be_changed(
    session: Session, ctx: Context, clock: SimulatedClock
) -> None:
    create_definition(session, ctx, CONTACT, definition("tier", PropertyType.ENUM, ["gold"]))
    session.commit()
    clock.advance(timedelta(hours=2))

    updated = update_definition(
        session,
        ctx,
        CONTACT,
        "tier",
        PropertyDefinitionPatch(
            label="Loyalty tier",
            description="From the loyalty programme",
            options=[EnumOptionIn(value="gold", label="Gold"), EnumOptionIn(value="vip", label="VIP")],
        ),
    )
    session.commit()

    assert (updated.label, updated.description) == ("Loyalty tier", "From the loyalty programme")
    assert updated.options == [
        EnumOptionOut(value="gold", label="Gold"),
        EnumOptionOut(value="vip", label="VIP"),
    ]
    assert (updated.created_at, updated.updated_at) == (START, START + timedelta(hours=2))
    assert get_definition(session, CONTACT, "tier") == updated


def test_an_update_leaves_unnamed_attributes_alone(session: Session, ctx: Context) -> None:
    create_definition(session, ctx, CONTACT, definition("tier", PropertyType.ENUM, ["gold"], description="d"))
    session.commit()

    updated = update_definition(session, ctx, CONTACT, "tier", PropertyDefinitionPatch(label="Level"))

    assert (updated.label, updated.description, updated.type) == ("Level", "d", PropertyType.ENUM)
    assert updated.options == [EnumOptionOut(value="gold", label="gold")]


def test_options_cannot_be_emptied_or_given_to_other_types(session: Session, ctx: Context) -> None:
    create_definition(session, ctx, CONTACT, definition("tier", PropertyType.ENUM, ["gold"]))
    create_definition(session, ctx, CONTACT, definition("region"))
    session.commit()

    with pytest.raises(InvalidInput) as emptied:
        update_definition(session, ctx, CONTACT, "tier", PropertyDefinitionPatch(options=[]))
    assert emptied.value.errors == [FieldError("options", "a enum property needs at least one option")]
    with pytest.raises(InvalidInput) as given:
        update_definition(
            session, ctx, CONTACT, "region", PropertyDefinitionPatch(options=[EnumOptionIn(value="seoul")])
        )
    assert given.value.errors == [
        FieldError("options", "only enum and multi_enum properties take options, not string")
    ]


def test_updating_or_deleting_an_unknown_definition_is_not_found(session: Session, ctx: Context) -> None:
    with pytest.raises(NotFound, match=r"^company property 'arr' not found$"):
        update_definition(session, ctx, COMPANY, "arr", PropertyDefinitionPatch(label="ARR"))
    with pytest.raises(NotFound, match=r"^company property 'arr' not found$"):
        delete_definition(session, COMPANY, "arr")


def test_new_options_are_accepted_by_the_next_coercer(session: Session, ctx: Context) -> None:
    create_definition(session, ctx, CONTACT, definition("tier", PropertyType.ENUM, ["gold"]))
    update_definition(
        session,
        ctx,
        CONTACT,
        "tier",
        PropertyDefinitionPatch(options=[EnumOptionIn(value="gold"), EnumOptionIn(value="vip", label="VIP")]),
    )

    assert load_coercer(session, ctx, CONTACT).clean({"tier": "vip"}) == ({"tier": "vip"}, [])


def test_deleting_a_definition_removes_its_values_from_contacts(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions.begin() as session:
        create_definition(session, ctx, CONTACT, definition("tier", PropertyType.ENUM, ["gold", "silver"]))
        create_definition(session, ctx, CONTACT, definition("region"))
        create_definition(session, ctx, COMPANY, definition("tier"))
        gold = create_contact(
            session, ctx, ContactIn(email="gold@acme.co.kr", properties={"tier": "gold", "region": "Seoul"})
        ).id
        plain = create_contact(
            session, ctx, ContactIn(email="plain@acme.co.kr", properties={"region": "Busan"})
        ).id
        acme = create_company(
            session, ctx, CompanyIn(name="Beta", domain="beta.co.kr", properties={"tier": "A"})
        ).id

    with sessions.begin() as session:
        loaded = get_contact(session, gold)  # in the session's identity map while the definition goes
        assert loaded.properties == {"tier": "gold", "region": "Seoul"}
        delete_definition(session, CONTACT, "tier")
        assert get_contact(session, gold).properties == {"region": "Seoul"}

    with sessions() as session:
        assert get_contact(session, gold).properties == {"region": "Seoul"}
        assert get_contact(session, plain).properties == {"region": "Busan"}
        assert get_company(session, acme).properties == {"tier": "A"}
        assert [d.name for d in list_definitions(session, CONTACT)] == ["region"]
        assert load_coercer(session, ctx, CONTACT).clean({"tier": "gold"})[1] == [
            FieldError("properties.tier", "unknown property 'tier'; define it first (known: region)")
        ]


def test_deleting_a_company_definition_removes_its_values_from_companies(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    with sessions.begin() as session:
        create_definition(session, ctx, COMPANY, definition("arr", PropertyType.NUMBER))
        acme = create_company(session, ctx, CompanyIn(name="Acme", properties={"arr": 1_200_000})).id

    with sessions.begin() as session:
        delete_definition(session, COMPANY, "arr")

    with sessions() as session:
        assert get_company(session, acme).properties == {}


def test_deleting_a_definition_rewrites_only_the_rows_that_hold_it(
    sessions: sessionmaker[Session], ctx: Context
) -> None:
    """Three contacts, one with a tier: dropping the tier property updates that one row, not the table.

    The contacts are loaded first; the update expires the loaded values of exactly the rows it matched.
    """
    with sessions.begin() as session:
        create_definition(session, ctx, CONTACT, definition("tier"))
        create_definition(session, ctx, CONTACT, definition("region"))
        ids = [
            create_contact(session, ctx, ContactIn(email="gold@acme.co.kr", properties={"tier": "gold"})).id,
            create_contact(
                session, ctx, ContactIn(email="seoul@acme.co.kr", properties={"region": "Seoul"})
            ).id,
            create_contact(session, ctx, ContactIn(email="none@acme.co.kr")).id,
        ]

    with sessions.begin() as session:
        loaded = [load_contact(session, contact_id) for contact_id in ids]
        delete_definition(session, CONTACT, "tier")
        rewritten = ["properties" in inspect(contact).unloaded for contact in loaded]

    assert rewritten == [True, False, False]
