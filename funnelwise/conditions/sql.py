"""Compiling a condition tree to one SQL boolean over `contacts`, evaluated for every contact at once.

Leaves become plain comparisons on the contact row, correlated EXISTS on its company and consents,
and correlated EXISTS or COUNT/aggregate subqueries on its events that the indexes
events(contact_id, occurred_at) and events(name, occurred_at) serve. Every leaf is true or false,
never NULL, so NOT means "everyone else" and a missing value matches a negative operator.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    Float,
    Interval,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    distinct,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from funnelwise.conditions.columns import COMPANY_COLUMNS, CONTACT_COLUMNS
from funnelwise.conditions.operators import Aggregation, Performed
from funnelwise.conditions.predicates import (
    Anniversary,
    BooleanIs,
    Either,
    InTime,
    IsSet,
    NumberIn,
    NumberRange,
    Predicate,
    Test,
    TextContains,
    TextIn,
    TextStartsWith,
    resolve,
)
from funnelwise.conditions.registry import SqlScope, kind_of
from funnelwise.conditions.relative_time import Moment, window
from funnelwise.conditions.sql_values import JsonValue, contains, fold, ordered
from funnelwise.conditions.tree import (
    AggregateCondition,
    All,
    AnyOf,
    CompanyProperty,
    Condition,
    ConsentCondition,
    ContactProperty,
    EventCondition,
    FirstTime,
    LastTime,
    Not,
)
from funnelwise.contacts.models import Company, Contact
from funnelwise.messaging.models import Consent
from funnelwise.tracking.models import Event

_contacts = Contact.__table__
_companies = Company.__table__
_events = Event.__table__
_consents = Consent.__table__
_JSON_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_READ_AND_TURN_OFF_JIT = text("SELECT current_setting('jit'), set_config('jit', 'off', true)")
_SET_JIT = text("SELECT set_config('jit', :previous, true)")


def compile_condition(tree: Condition, now: datetime, tz: tzinfo, dialect: str) -> ColumnElement[bool]:
    """A boolean SQL expression over the `contacts` table, true for the contacts that match."""
    scope = SqlScope(contact_id=_contacts.c.id, dialect=dialect, moment=Moment(now, tz))
    return _compile(tree, scope)


def matching_query(tree: Condition, now: datetime, tz: tzinfo, dialect: str) -> Select[tuple[int]]:
    """`SELECT contacts.id … WHERE <condition>`, in id order."""
    condition = compile_condition(tree, now, tz, dialect)
    return select(_contacts.c.id).where(condition).order_by(_contacts.c.id)


def matching_contacts(session: Session, tree: Condition, now: datetime, tz: tzinfo) -> list[int]:
    """The ids of every contact that meets the condition at `now`, in id order."""
    dialect = session.get_bind().dialect.name
    with without_jit(session):
        return list(session.scalars(matching_query(tree, now, tz, dialect)))


@contextmanager
def without_jit(session: Session) -> Iterator[None]:
    """Runs the statements inside without PostgreSQL's JIT compilation; elsewhere, does nothing.

    A condition over every contact is estimated far above `jit_above_cost`, and compiling its
    correlated subqueries took longer than running them (0.3 to 1.2 s at 100,000 contacts). The
    setting is the transaction's own and is put back afterwards; a failure rolls it back anyway.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    # The select list is evaluated in order: the setting is read, then changed.
    previous = session.execute(_READ_AND_TURN_OFF_JIT).scalar_one()
    yield
    session.execute(_SET_JIT, {"previous": previous})


def _compile(node: Condition, scope: SqlScope) -> ColumnElement[bool]:
    match node:
        case All():
            return and_(true(), *(_compile(child, scope) for child in _cheapest_first(node.all)))
        case AnyOf():
            return or_(false(), *(_compile(child, scope) for child in _cheapest_first(node.any)))
        case Not():
            return not_(_compile(node.negated, scope))
        case ContactProperty():
            return _leaf(_resolve(node, scope), _contacts, node.property, CONTACT_COLUMNS, scope.dialect)
        case CompanyProperty():
            return _company(node, scope)
        case EventCondition():
            return _performed(node, scope)
        case AggregateCondition():
            return _aggregate(node, scope)
        case FirstTime() | LastTime():
            return _occurrence(node, scope)
        case ConsentCondition():
            return _consent(node, scope)
    return kind_of(node).to_sql(node, scope)


def _cheapest_first(children: list[Condition]) -> list[Condition]:
    """Children in the order that decides most contacts soonest: tests on the row before subqueries.

    SQLite evaluates AND and OR in the order written (PostgreSQL orders them by estimated cost, and
    this order agrees with it), and every child is true or false, so the order changes only the time.
    """
    return sorted(children, key=_cost_rank)


def _cost_rank(node: Condition) -> int:
    match node:
        case All() | AnyOf():
            return max(
                (_cost_rank(child) for child in (node.all if isinstance(node, All) else node.any)), default=0
            )
        case Not():
            return _cost_rank(node.negated)
        case ContactProperty():
            return 0 if node.property in CONTACT_COLUMNS else 1
        case EventCondition() | AggregateCondition() | FirstTime() | LastTime():
            return 3
    # A company, a consent or a registered leaf: one indexed lookup.
    return 2


def _resolve(node: Any, scope: SqlScope) -> Test:
    return resolve(node.operator, node.value, scope.moment)


def _leaf(test: Test, table: Any, name: str, columns: dict[str, Any], dialect: str) -> ColumnElement[bool]:
    if name in columns:
        positive = _on_column(test.predicate, table.c[name], dialect)
    else:
        positive = _on_json(test.predicate, JsonValue(table.c.properties, name, dialect))
    return _two_valued(positive, test.negated)


def _two_valued(positive: ColumnElement[bool], negated: bool) -> ColumnElement[bool]:
    """NULL (a missing value) becomes false before any negation, so NOT never leaves it unknown."""
    # Not coalesce(): SQLite evaluates both sides of every AND and OR inside a function argument,
    # but a CASE condition stops at the first that decides.
    return case((positive, false() if negated else true()), else_=true() if negated else false())


def _company(node: CompanyProperty, scope: SqlScope) -> ColumnElement[bool]:
    test = _resolve(node, scope)
    positive = _leaf(
        Test(test.predicate, negated=False), _companies, node.company, COMPANY_COLUMNS, scope.dialect
    )
    company = select(1).select_from(_companies).where(_companies.c.id == _contacts.c.company_id, positive)
    has = exists(company.correlate(_contacts))
    return not_(has) if test.negated else has


def _event_rows(
    name: str, node: EventCondition | AggregateCondition | FirstTime | LastTime, scope: SqlScope
) -> list[ColumnElement[bool]]:
    """The WHERE of a contact's matching events: contact, name and time first, for the indexes."""
    span = window(getattr(node, "within_last_days", None), getattr(node, "between", None), scope.moment)
    rows = [_events.c.contact_id == scope.contact_id, _events.c.name == name]
    if span.start is not None:
        rows.append(_events.c.occurred_at >= span.start)
    if span.end is not None:
        rows.append(_events.c.occurred_at < span.end)
    for where in node.where:
        test = resolve(where.operator, where.value, scope.moment)
        positive = _on_json(test.predicate, JsonValue(_events.c.properties, where.property, scope.dialect))
        rows.append(_two_valued(positive, test.negated))
    return rows


def _correlated(query: Select[Any], rows: list[ColumnElement[bool]]) -> Select[Any]:
    """A subquery on the events of the contact row outside it."""
    return query.select_from(_events).where(*rows).correlate(_contacts)


def _performed(node: EventCondition, scope: SqlScope) -> ColumnElement[bool]:
    rows = _event_rows(node.event, node, scope)
    if node.performed is Performed.NEVER or (node.performed is Performed.EXACTLY and node.times == 0):
        return not_(exists(_correlated(select(1), rows)))
    if node.performed is Performed.AT_LEAST and node.times == 1:
        return exists(_correlated(select(1), rows))
    count = _correlated(select(func.count()), rows).scalar_subquery()
    match node.performed:
        case Performed.AT_LEAST:
            return count >= node.times
        case Performed.AT_MOST:
            return count <= node.times
    return count == node.times


def _aggregate(node: AggregateCondition, scope: SqlScope) -> ColumnElement[bool]:
    value = JsonValue(_events.c.properties, node.of, scope.dialect)
    match node.aggregate:
        case Aggregation.SUM:
            computed = func.coalesce(func.sum(value.number()), 0)
        case Aggregation.AVG:
            computed = func.avg(value.number())
        case Aggregation.MIN:
            computed = func.min(value.number())
        case Aggregation.MAX:
            computed = func.max(value.number())
        case Aggregation.COUNT_DISTINCT:
            computed = func.count(distinct(_distinct_key(value, scope.dialect)))
    rows = _event_rows(node.event, node, scope)
    subquery = _correlated(select(computed), rows).scalar_subquery()
    test = _resolve(node, scope)
    return _two_valued(_on_column(test.predicate, subquery, scope.dialect), test.negated)


def _distinct_key(value: JsonValue, dialect: str) -> ColumnElement[str]:
    """Texts count once whatever their case; numbers once whatever their form (1 and 1.0)."""
    number = cast(cast(value.number(), Float), String)
    return case(
        (value.is_type("text"), "text:" + fold(value.text(), dialect)),
        (value.is_type("number"), "number:" + number),
        else_=None,
    )


def _occurrence(node: FirstTime | LastTime, scope: SqlScope) -> ColumnElement[bool]:
    first = isinstance(node, FirstTime)
    name = node.first_time if isinstance(node, FirstTime) else node.last_time
    moment = (func.min if first else func.max)(_events.c.occurred_at)
    rows = _event_rows(name, node, scope)
    subquery = _correlated(select(moment), rows).scalar_subquery()
    test = _resolve(node, scope)
    return _two_valued(_on_column(test.predicate, subquery, scope.dialect), test.negated)


def _consent(node: ConsentCondition, scope: SqlScope) -> ColumnElement[bool]:
    rows = [
        _consents.c.contact_id == scope.contact_id,
        _consents.c.channel == node.consent.value,
        _consents.c.status == node.status.value,
    ]
    if node.topic is not None:
        rows.append(_consents.c.topic == node.topic)
    return exists(select(1).select_from(_consents).where(*rows).correlate(_contacts))


def _on_column(predicate: Predicate, column: Any, dialect: str) -> ColumnElement[bool]:
    match predicate:
        case IsSet():
            return column.is_not(None)
        case TextIn() | TextContains() | TextStartsWith():
            return _text(predicate, column, dialect)
        case NumberIn():
            return column.in_(predicate.values)
        case NumberRange():
            return _number_range(predicate, column)
        case InTime():
            return _time_range(predicate, column)
        case Anniversary():
            return _anniversary(predicate, column, dialect)
        case Either():
            return or_(*(_on_column(part, column, dialect) for part in predicate.parts))
    raise TypeError(f"{predicate!r} does not apply to a column")


def _on_json(predicate: Predicate, value: JsonValue) -> ColumnElement[bool]:
    dialect = value.dialect
    match predicate:
        case IsSet():
            return value.is_set()
        case TextIn() | TextContains() | TextStartsWith():
            return or_(
                _json_text(predicate, value),
                and_(
                    value.may_hold_a_list(),
                    value.is_type("array"),
                    value.any_text_element(lambda element: _text(predicate, element, dialect)),
                ),
            )
        case NumberIn() | NumberRange():
            return _on_column(predicate, value.number(), dialect)
        case BooleanIs():
            return value.boolean_is(predicate.value)
        case InTime():
            return and_(value.is_type("text"), _time_text(predicate, value.text(), dialect))
        case Anniversary():
            text = value.text()
            month_day = func.substr(text, 6, 5).in_(predicate.month_days)
            return and_(value.is_type("text"), func.length(text) == 10, month_day)
        case Either():
            return or_(*(_on_json(part, value) for part in predicate.parts))
    raise TypeError(f"unknown predicate {predicate!r}")


def _json_text(predicate: TextIn | TextContains | TextStartsWith, value: JsonValue) -> ColumnElement[bool]:
    """A JSON text value passes the text test (a list is tested element by element elsewhere)."""
    if isinstance(predicate, TextIn) and not any(
        _may_be_other_json(text, value.dialect) for text in predicate.values
    ):
        # No other kind of JSON value reads back as one of these texts, so an equal value is text,
        # and the type needs no second lookup in the document.
        return _text(predicate, value.text(), value.dialect)
    # The type second: the comparison rules out most rows, and each reading costs a lookup.
    return and_(_text(predicate, value.text(), value.dialect), value.is_type("text"))


def _may_be_other_json(text: str, dialect: str) -> bool:
    """Whether a list, a mapping, a number or a boolean can read back as this text."""
    # Lists and mappings read back as their JSON text. SQLite reads numbers and booleans back as
    # numbers, which never equal text; PostgreSQL's ->> gives their JSON text (1.50, true).
    if text.startswith(("[", "{")):
        return True
    return dialect == "postgresql" and (text in ("true", "false") or _JSON_NUMBER.fullmatch(text) is not None)


def _text(predicate: TextIn | TextContains | TextStartsWith, text: Any, dialect: str) -> ColumnElement[bool]:
    match predicate:
        case TextIn():
            return _text_in(predicate.values, text, dialect)
        case TextContains():
            return contains(fold(text, dialect), predicate.needle, dialect)
    return func.substr(fold(text, dialect), 1, len(predicate.prefix)) == predicate.prefix


def _text_in(values: tuple[str, ...], text: Any, dialect: str) -> ColumnElement[bool]:
    """The text, folded, is one of these folded values."""
    # SQLite's NOCASE folds A-Z alone, as fold() does, without making a lower-cased copy.
    folded = text.collate("NOCASE") if dialect == "sqlite" else fold(text, dialect)
    return folded == values[0] if len(values) == 1 else folded.in_(values)


def _number_range(predicate: NumberRange, number: Any) -> ColumnElement[bool]:
    parts = []
    if predicate.low is not None:
        parts.append(number >= predicate.low if predicate.low_inclusive else number > predicate.low)
    if predicate.high is not None:
        parts.append(number <= predicate.high if predicate.high_inclusive else number < predicate.high)
    return and_(*parts)


def _time_range(predicate: InTime, moment: Any) -> ColumnElement[bool]:
    parts = []
    if predicate.range.start is not None:
        parts.append(moment >= predicate.range.start)
    if predicate.range.end is not None:
        parts.append(moment < predicate.range.end)
    return and_(true(), *parts)


def _time_text(predicate: InTime, text: Any, dialect: str) -> ColumnElement[bool]:
    """Date-only text is compared as a day; longer text as a UTC date-time to the second."""
    day = ordered(text, dialect)
    instant = ordered(func.substr(text, 1, 19), dialect)
    day_parts = [day >= predicate.first_day] if predicate.first_day else []
    day_parts += [day < predicate.end_day] if predicate.end_day else []
    instant_parts = [instant >= predicate.start_text] if predicate.start_text else []
    instant_parts += [instant < predicate.end_text] if predicate.end_text else []
    return case(
        (func.length(text) == 10, and_(true(), *day_parts)),
        else_=and_(true(), *instant_parts),
    )


def _anniversary(predicate: Anniversary, moment: Any, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        offset = bindparam(None, timedelta(minutes=predicate.offset_minutes), type_=Interval)
        month_day = func.to_char(func.timezone("UTC", moment) + offset, "MM-DD")
    else:
        month_day = func.strftime("%m-%d", moment, f"{predicate.offset_minutes:+d} minutes")
    return month_day.in_(predicate.month_days)
