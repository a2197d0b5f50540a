"""The SQL compiler and the in-memory evaluator choose the same contacts, on SQLite and PostgreSQL."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from funnelwise.conditions import Facts, dump_condition, evaluate, matching_contacts, parse_condition
from tests.conditions import strategies
from tests.conditions.population import CompanyData, PersonData, crowd, store

# The session fixture is set up once for all examples of a test: each example rolls back its rows.
_database_examples = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _members_in_memory(tree: Any, facts: list[Facts], now: datetime, tz: ZoneInfo) -> list[int]:
    return sorted(fact.contact["id"] for fact in facts if evaluate(tree, fact, now, tz))


@st.composite
def _populations(draw: st.DrawFn) -> tuple[list[CompanyData], list[PersonData]]:
    companies = draw(st.lists(strategies.companies, max_size=2))
    people = draw(st.lists(strategies.people(len(companies)), min_size=1, max_size=4))
    return companies, people


@_database_examples
@given(population=_populations(), data=strategies.trees, when=strategies.evaluation_times)
def test_both_evaluators_choose_the_same_contacts(
    session: Session, population: tuple[list[CompanyData], list[PersonData]], data: Any, when: Any
) -> None:
    tree = parse_condition(data)
    now, tz = when[0], ZoneInfo(when[1])
    try:
        facts = store(session, *population)
        in_database = matching_contacts(session, tree, now, tz)
    finally:
        session.rollback()

    assert in_database == _members_in_memory(tree, facts, now, tz)


@pytest.fixture
def stored_crowd(session: Session) -> list[Facts]:
    """One population of thirty varied contacts for many trees; stored once, committed."""
    facts = store(session, *crowd(30))
    session.commit()
    return facts


@_database_examples
@given(data=strategies.trees, when=strategies.evaluation_times)
def test_both_evaluators_agree_on_a_crowd(
    session: Session, stored_crowd: list[Facts], data: Any, when: Any
) -> None:
    tree = parse_condition(data)
    now, tz = when[0], ZoneInfo(when[1])

    assert matching_contacts(session, tree, now, tz) == _members_in_memory(tree, stored_crowd, now, tz)


@settings(max_examples=60, deadline=None)
@given(data=strategies.trees)
def test_a_tree_reads_back_from_its_dump(data: Any) -> None:
    tree = parse_condition(data)

    assert parse_condition(dump_condition(tree)) == tree
