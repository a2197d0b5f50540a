"""The SQL a tree compiles to: pinned for representative trees, and never carrying a value in its text."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from funnelwise.conditions import evaluate, matching_contacts, matching_query, parse_condition, without_jit
from tests.conditions.population import PersonData, store
from tests.conftest import START

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 11, 22, 1, tzinfo=UTC)


def _sql(data: dict, dialect: object = None) -> str:
    compiled = matching_query(parse_condition(data), NOW, SEOUL, "sqlite").compile(
        dialect=dialect or sqlite.dialect()
    )
    return " ".join(str(compiled).split())


def test_a_b2b_segment_compiles_to_column_tests_and_correlated_exists() -> None:
    sql = _sql(
        {
            "all": [
                {"property": "job_level", "operator": "in", "value": ["head", "executive"]},
                {"company": "size_band", "operator": "in", "value": ["201-500", "501-1000"]},
                {
                    "event": "Page Viewed",
                    "where": [{"property": "url", "operator": "contains", "value": "/pricing"}],
                    "within_last_days": 30,
                },
            ]
        }
    )

    assert sql == (
        'SELECT contacts.id FROM contacts WHERE CASE WHEN ((contacts.job_level COLLATE "NOCASE") '
        "IN (__[POSTCOMPILE_param_1])) THEN 1 ELSE 0 END = 1 "
        "AND (EXISTS (SELECT 1 FROM companies WHERE companies.id = contacts.company_id "
        'AND CASE WHEN ((companies.size_band COLLATE "NOCASE") IN (__[POSTCOMPILE_param_2])) THEN 1 ELSE 0 END = 1)) '
        "AND (EXISTS (SELECT 1 FROM events WHERE events.contact_id = contacts.id AND events.name = ? "
        "AND events.occurred_at >= ? AND events.occurred_at < ? "
        "AND CASE WHEN (instr(lower(json_extract(events.properties, ?)), ?) > ? AND json_type(events.properties, ?) = ? "
        "OR instr(events.properties, ?) > ? AND json_type(events.properties, ?) = ? "
        "AND (EXISTS (SELECT 1 FROM json_each(events.properties, ?) AS element "
        "WHERE element.type = ? AND instr(lower(element.value), ?) > ?))) THEN 1 ELSE 0 END = 1)) ORDER BY contacts.id"
    )


def test_a_revenue_segment_compiles_to_an_aggregate_subquery_and_not_exists() -> None:
    query = matching_query(
        parse_condition(
            {
                "all": [
                    {
                        "aggregate": "sum",
                        "of": "revenue",
                        "event": "Order Completed",
                        "within_last_days": 90,
                        "operator": "gte",
                        "value": 300000,
                    },
                    {"event": "Order Completed", "performed": "never", "within_last_days": 30},
                ]
            }
        ),
        NOW,
        SEOUL,
        "sqlite",
    )
    compiled = query.compile(dialect=sqlite.dialect())

    assert " ".join(str(compiled).split()) == (
        "SELECT contacts.id FROM contacts WHERE CASE WHEN ((SELECT coalesce(sum(CASE WHEN (json_type(events.properties, ?) "
        "IN (__[POSTCOMPILE_json_type_2])) THEN json_extract(events.properties, ?) END), ?) AS coalesce_1 FROM events "
        "WHERE events.contact_id = contacts.id AND events.name = ? AND events.occurred_at >= ? AND events.occurred_at < ?) "
        ">= ?) THEN 1 ELSE 0 END = 1 AND NOT (EXISTS (SELECT 1 FROM events WHERE events.contact_id = contacts.id AND events.name = ? "
        "AND events.occurred_at >= ? AND events.occurred_at < ?)) ORDER BY contacts.id"
    )
    # 90 and 30 days back from 22 November in Seoul start at 00:00 Seoul time (15:00 UTC the day before).
    assert compiled.params == {
        "json_type_1": '$."revenue"',
        "json_type_2": ["integer", "real"],
        "json_extract_1": '$."revenue"',
        "coalesce_2": 0,
        "name_1": "Order Completed",
        "occurred_at_1": datetime(2026, 8, 23, 15, tzinfo=UTC),
        "occurred_at_2": datetime(2026, 11, 22, 15, tzinfo=UTC),
        "param_1": 300000,
        "name_2": "Order Completed",
        "occurred_at_3": datetime(2026, 10, 22, 15, tzinfo=UTC),
        "occurred_at_4": datetime(2026, 11, 22, 15, tzinfo=UTC),
    }


def test_birthdays_and_signup_days_compile_to_day_tests() -> None:
    sql = _sql(
        {
            "any": [
                {"property": "birthday", "operator": "anniversary_today"},
                {"property": "created_at", "operator": "days_ago", "value": 7},
            ]
        }
    )

    assert sql == (
        "SELECT contacts.id FROM contacts WHERE CASE WHEN (contacts.created_at >= ? AND contacts.created_at < ?) "
        "THEN 1 ELSE 0 END = 1 OR CASE WHEN (json_type(contacts.properties, ?) = ? "
        "AND length(json_extract(contacts.properties, ?)) = ? "
        "AND substr(json_extract(contacts.properties, ?), ?, ?) IN (__[POSTCOMPILE_substr_3])) THEN 1 ELSE 0 END = 1 "
        "ORDER BY contacts.id"
    )


def test_a_negative_operator_on_postgresql_reads_numbers_only_where_they_are_numbers() -> None:
    query = matching_query(
        parse_condition({"property": "ltv", "operator": "not_equals", "value": 300000}),
        NOW,
        SEOUL,
        "postgresql",
    )

    assert " ".join(str(query.compile(dialect=postgresql.psycopg.dialect())).split()) == (
        "SELECT contacts.id FROM contacts WHERE CASE WHEN (CASE WHEN (jsonb_typeof(contacts.properties -> "
        "%(param_1)s::VARCHAR) = %(jsonb_typeof_1)s::VARCHAR) THEN CAST(contacts.properties ->> %(param_2)s::VARCHAR "
        "AS NUMERIC) END IN (__[POSTCOMPILE_param_3])) THEN false ELSE true END ORDER BY contacts.id"
    )


_ATTACKS = [
    "x'); DROP TABLE contacts; --",
    "' OR '1'='1",
    '"); DROP TABLE events; --',
    "$.plan[0]",
    "50%_off",
]


def test_values_never_enter_the_sql_text() -> None:
    for attack in _ATTACKS:
        sql = _sql({"all": [{"property": "plan", "operator": "equals", "value": attack}, {"event": attack}]})
        pg = " ".join(
            str(
                matching_query(
                    parse_condition({"property": "plan", "operator": "contains", "value": attack}),
                    NOW,
                    SEOUL,
                    "postgresql",
                ).compile(dialect=postgresql.psycopg.dialect())
            ).split()
        )

        assert attack not in sql
        assert attack not in pg


def test_a_value_shaped_like_sql_matches_only_itself(session: Session) -> None:
    people = [PersonData({"created_at": START}, {"plan": attack}) for attack in _ATTACKS]
    ids = [facts.contact["id"] for facts in store(session, [], people)]
    session.commit()

    for attack, contact_id in zip(_ATTACKS, ids, strict=True):
        tree = parse_condition({"property": "plan", "operator": "equals", "value": attack})
        assert matching_contacts(session, tree, NOW, SEOUL) == [contact_id]
    assert {"contacts", "events"} <= set(inspect(session.connection()).get_table_names())


def test_event_property_names_are_keys_not_paths_or_sql(session: Session) -> None:
    names = ["x') OR 1=1 --", "$.revenue", "a.b", "revenue[0]", "it's", "back\\slash"]
    people = [
        PersonData({"created_at": START}, events=[("Order Completed", {name: 1}, START)]) for name in names
    ]
    ids = [facts.contact["id"] for facts in store(session, [], people)]
    session.commit()

    for name, contact_id in zip(names, ids, strict=True):
        tree = parse_condition(
            {"event": "Order Completed", "where": [{"property": name, "operator": "equals", "value": 1}]}
        )
        assert matching_contacts(session, tree, NOW, SEOUL) == [contact_id]


def test_text_shaped_like_a_list_a_mapping_or_a_number_matches_only_text(session: Session) -> None:
    # Lists and mappings read back as JSON text, and on PostgreSQL numbers and booleans too: none is text.
    stored = [
        '["vip"]',
        ["vip"],
        ["VIP", 2],
        '{"a":1}',
        {"a": 1},
        "1",
        1,
        "true",
        True,
        "2.5",
        2.5,
        "false",
        None,
    ]
    people = [PersonData({"created_at": START}, {"tag": value}) for value in stored]
    facts = store(session, [], people)
    session.commit()

    for needle in [
        '["vip"]',
        '{"a":1}',
        "1",
        "true",
        "2.5",
        "FALSE",
        "vip",
        ["vip", '["vip"]'],
        ["2.5", "x"],
    ]:
        tree = parse_condition(
            {"property": "tag", "operator": "in", "value": needle if isinstance(needle, list) else [needle]}
        )
        in_memory = [f.contact["id"] for f in facts if evaluate(tree, f, NOW, SEOUL)]
        assert matching_contacts(session, tree, NOW, SEOUL) == in_memory
    vip = parse_condition({"property": "tag", "operator": "equals", "value": "vip"})
    assert matching_contacts(session, vip, NOW, SEOUL) == [facts[1].contact["id"], facts[2].contact["id"]]


def test_without_jit_turns_jit_off_for_the_statements_inside_and_then_back(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("JIT compilation is PostgreSQL's")
    setting = text("SELECT current_setting('jit')")
    before = session.scalar(setting)

    with without_jit(session):
        inside = session.scalar(setting)

    assert (inside, session.scalar(setting)) == ("off", before)
