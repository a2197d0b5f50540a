"""The scores of every contact in a range of ids, computed inside the database in one statement.

The same numbers as `compute.score_contact`, set at a time: one scan of the events for the event
rules without a limit, one windowed scan per rule with a limit (a row number per contact and
period), and each property rule compiled to a boolean over the contact row. The result has one row
per contact with any rule that scored: `contact_id, fixed, level, by_rule`.
"""

import math
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import BinaryExpression

from funnelwise.conditions import Moment, SqlScope, compile_condition
from funnelwise.conditions.sql import _event_rows
from funnelwise.contacts.models import Contact
from funnelwise.scoring.compute import DAY_SECONDS
from funnelwise.scoring.rules import Rule, Scoring
from funnelwise.tracking.models import Event

_contacts = Contact.__table__
_events = Event.__table__
# PostgreSQL takes at most 100 arguments to a function, SQLite 127: objects are built in parts.
_PAIRS_PER_OBJECT = 30


def whole_seconds(moment: Any, dialect: str) -> ColumnElement[int]:
    """A timestamp column as whole seconds since 1970-01-01 UTC, rounded down."""
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", moment)), BigInteger)
    return cast(func.strftime("%s", moment), BigInteger)


def event_filter(rule: Rule, moment: Moment, dialect: str) -> list[ColumnElement[bool]]:
    """The WHERE of the events an event rule scores: its name, window and `where` tests."""
    # The conditions package has no public name yet for the filter of one event row; this is the
    # one its compiler uses, so a rule matches exactly the events the condition language means.
    assert rule.event is not None
    scope = SqlScope(contact_id=_events.c.contact_id, dialect=dialect, moment=moment)
    rows = _event_rows(rule.event.event, rule.event, scope)
    # The first test ties the event to the contact outside; here there is no outside.
    return [row for row in rows if not _is_contact_tie(row)]


def scores_query(
    scoring: Scoring, now: datetime, tz: tzinfo, dialect: str, id_range: tuple[int, int] | None = None
) -> Select[Any]:
    """`contact_id, fixed, level, by_rule` for every contact (in the range) with a rule that scored."""
    moment = Moment(now, tz)
    in_range = _in_range(_contacts.c.id, id_range)
    columns: dict[str, ColumnElement[Any]] = {}
    sources: list[Any] = []
    for rule in scoring.property_rules:
        holds = compile_condition(rule.tree, now, tz, dialect)
        columns[rule.name] = case((holds, literal(rule.points, Float)), else_=null())
    unlimited = [rule for rule in scoring.event_rules if rule.limit_days is None]
    if unlimited:
        scan = _unlimited_scan(scoring, unlimited, moment, dialect, id_range)
        sources.append(scan)
        columns.update({rule.name: scan.c[_column(index)] for index, rule in enumerate(unlimited)})
    for rule in scoring.event_rules:
        if rule.limit_days is not None:
            scan = _limited_scan(scoring, rule, moment, dialect, id_range)
            sources.append(scan)
            columns[rule.name] = scan.c.points
    joined: Any = _contacts
    for source in sources:
        joined = joined.outerjoin(source, source.c.contact_id == _contacts.c.id)
    ordered = [columns[rule.name].label(_column(index)) for index, rule in enumerate(scoring.rules)]
    inner = (
        select(_contacts.c.id.label("contact_id"), *ordered).select_from(joined).where(in_range).subquery()
    )
    parts = [inner.c[_column(index)] for index in range(len(scoring.rules))]
    fixed = _sum(parts[index] for index, rule in enumerate(scoring.rules) if rule.event is None)
    level = _sum(parts[index] for index, rule in enumerate(scoring.rules) if rule.event is not None)
    by_rule = _json_object([(rule.name, parts[index]) for index, rule in enumerate(scoring.rules)], dialect)
    scored = or_(*(part.is_not(None) for part in parts))
    return select(
        inner.c.contact_id,
        fixed.label("fixed"),
        level.label("level"),
        by_rule.label("by_rule"),
    ).where(scored)


def _unlimited_scan(
    scoring: Scoring, rules: list[Rule], moment: Moment, dialect: str, id_range: tuple[int, int] | None
) -> Any:
    """One pass over the events of these rules' names: each rule's weighted points per contact."""
    weight = _weight(scoring, dialect)
    sums = []
    for index, rule in enumerate(rules):
        matches = and_(*event_filter(rule, moment, dialect))
        sums.append(func.sum(case((matches, rule.points * weight), else_=null())).label(_column(index)))
    names = sorted({rule.event.event for rule in rules if rule.event is not None})
    return (
        select(_events.c.contact_id, *sums)
        .where(
            _events.c.name.in_(names),
            _events.c.contact_id.is_not(None),
            _in_range(_events.c.contact_id, id_range),
        )
        .group_by(_events.c.contact_id)
        .subquery()
    )


def _limited_scan(
    scoring: Scoring, rule: Rule, moment: Moment, dialect: str, id_range: tuple[int, int] | None
) -> Any:
    """One rule with a limit: the nth occurrence in each period counts only what the limit leaves."""
    assert rule.limit_days is not None and rule.limit_points is not None
    period = whole_seconds(_events.c.occurred_at, dialect) // (rule.limit_days * DAY_SECONDS)
    nth = (
        func.row_number()
        .over(partition_by=(_events.c.contact_id, period), order_by=(_events.c.occurred_at, _events.c.id))
        .label("nth")
    )
    numbered = (
        select(_events.c.contact_id, _weight(scoring, dialect).label("weight"), nth)
        .where(
            *event_filter(rule, moment, dialect),
            _events.c.contact_id.is_not(None),
            _in_range(_events.c.contact_id, id_range),
        )
        .subquery()
    )
    size = abs(rule.points)
    left = rule.limit_points - (numbered.c.nth - 1) * size
    sign = 1.0 if rule.points > 0 else -1.0
    counted = case((left >= size, rule.points), else_=left * sign)
    return (
        select(numbered.c.contact_id, func.sum(counted * numbered.c.weight).label("points"))
        .where(numbered.c.nth <= rule.most_counted)
        .group_by(numbered.c.contact_id)
        .subquery()
    )


def _weight(scoring: Scoring, dialect: str) -> ColumnElement[float]:
    if scoring.half_life_days is None:
        return literal(1.0, Float)
    reference = math.floor(scoring.reference_at.timestamp())
    # The same operations in the same order as `compute.weight`, so both give the same number.
    span = whole_seconds(_events.c.occurred_at, dialect) - reference
    exponent = span / literal(DAY_SECONDS * scoring.half_life_days, Float)
    return func.power(2.0, exponent)


def _sum(parts: Any) -> ColumnElement[float]:
    total: ColumnElement[float] = literal(0.0, Float)
    for part in parts:
        total = total + func.coalesce(part, 0.0)
    return total


def _json_object(pairs: list[tuple[str, ColumnElement[Any]]], dialect: str) -> ColumnElement[Any]:
    """A JSON object of the pairs whose value is not null."""
    chunks = [pairs[start : start + _PAIRS_PER_OBJECT] for start in range(0, len(pairs), _PAIRS_PER_OBJECT)]
    objects = []
    for chunk in chunks:
        arguments = [item for name, value in chunk for item in (literal(name), value)]
        if dialect == "postgresql":
            objects.append(func.jsonb_strip_nulls(func.jsonb_build_object(*arguments)))
        else:
            objects.append(func.json_object(*arguments))
    if dialect == "postgresql":
        result = objects[0]
        for extra in objects[1:]:
            result = result.op("||")(extra)
        return result
    # A JSON merge patch drops the keys whose value is null.
    result = func.json_patch("{}", objects[0])
    for extra in objects[1:]:
        result = func.json_patch(result, extra)
    return result


def _in_range(column: Any, id_range: tuple[int, int] | None) -> ColumnElement[bool]:
    if id_range is None:
        return true()
    low, high = id_range
    return and_(column >= low, column < high)


def _is_contact_tie(row: ColumnElement[bool]) -> bool:
    return (
        isinstance(row, BinaryExpression)
        and row.left is _events.c.contact_id
        and row.right is _events.c.contact_id
    )


def _column(index: int) -> str:
    return f"r{index}"
