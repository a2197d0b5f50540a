"""Hypothesis strategies: condition trees, and the data they are evaluated on."""

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from funnelwise.conditions import Aggregation, Operator, Performed
from tests.conditions.population import (
    DATE_TIMES,
    DATES,
    EVENT_KEYS,
    EVENT_NAMES,
    MOMENTS,
    NEEDLES,
    NUMBERS,
    PROPERTY_KEYS,
    SIZE_BANDS,
    STAGES,
    TEXTS,
    TODAY,
    CompanyData,
    PersonData,
)

_ABSENT = object()
texts = st.sampled_from(TEXTS)
numbers = st.sampled_from(NUMBERS)
stored_values = st.one_of(
    texts,
    numbers,
    st.booleans(),
    st.sampled_from(DATES),
    st.sampled_from(DATE_TIMES),
    st.lists(texts, max_size=3),
    st.none(),
)
moments = st.sampled_from(MOMENTS)
day_literals = st.sampled_from([TODAY - timedelta(days=days) for days in (-1, 0, 1, 30, 31, 90)])
instant_literals = st.sampled_from(MOMENTS).map(lambda moment: moment.replace(microsecond=0))
time_literals = st.one_of(day_literals, instant_literals)


def _properties(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    pairs = st.tuples(*(st.one_of(st.just(_ABSENT), stored_values) for _ in keys))
    return pairs.map(lambda values: {k: v for k, v in zip(keys, values, strict=True) if v is not _ABSENT})


events = st.tuples(st.sampled_from(EVENT_NAMES), _properties(EVENT_KEYS), moments)
consents = st.lists(
    st.tuples(
        st.sampled_from(["email", "sms"]),
        st.sampled_from(["newsletter", "promotions"]),
        st.sampled_from(["granted", "pending", "revoked"]),
    ),
    max_size=2,
    unique_by=lambda consent: consent[:2],
)
companies = st.builds(
    CompanyData,
    fields=st.fixed_dictionaries(
        {
            "size_band": st.sampled_from(SIZE_BANDS),
            "industry": st.sampled_from(["SaaS", "saas", "Retail", None]),
        }
    ),
    properties=_properties(["tier", "plan"]),
)


def people(company_count: int) -> st.SearchStrategy[PersonData]:
    return st.builds(
        PersonData,
        fields=st.fixed_dictionaries(
            {
                "first_name": st.sampled_from([*TEXTS[:5], None]),
                "lifecycle_stage": st.sampled_from(STAGES),
                "created_at": moments,
            }
        ),
        properties=_properties(PROPERTY_KEYS),
        company=st.none() | st.integers(0, company_count - 1) if company_count else st.none(),
        events=st.lists(events, max_size=4),
        consents=consents,
    )


# (operator, value) pairs for a free-form JSON value, grouped by what the operator compares.
_json_comparisons = st.one_of(
    st.tuples(
        st.sampled_from([Operator.EQUALS, Operator.NOT_EQUALS]),
        st.one_of(texts, numbers, st.booleans(), time_literals),
    ),
    st.tuples(
        st.sampled_from([Operator.IN, Operator.NOT_IN]),
        st.lists(st.one_of(texts, numbers, st.booleans()), min_size=1, max_size=3),
    ),
    st.tuples(
        st.sampled_from([Operator.CONTAINS, Operator.NOT_CONTAINS, Operator.STARTS_WITH]),
        st.sampled_from(NEEDLES),
    ),
    st.tuples(
        st.sampled_from([Operator.GT, Operator.GTE, Operator.LT, Operator.LTE]), numbers | time_literals
    ),
    st.tuples(st.just(Operator.BETWEEN), st.lists(numbers, min_size=2, max_size=2).map(sorted)),
    st.tuples(st.just(Operator.BETWEEN), st.lists(day_literals, min_size=2, max_size=2).map(sorted)),
    st.tuples(st.sampled_from([Operator.IS_SET, Operator.IS_NOT_SET, Operator.ANNIVERSARY_TODAY]), st.none()),
    st.tuples(
        st.sampled_from([Operator.WITHIN_LAST_DAYS, Operator.MORE_THAN_DAYS_AGO, Operator.DAYS_AGO]),
        st.sampled_from([0, 1, 7, 30, 90]),
    ),
)
_text_comparisons = st.one_of(
    st.tuples(st.sampled_from([Operator.EQUALS, Operator.NOT_EQUALS]), texts),
    st.tuples(st.sampled_from([Operator.IN, Operator.NOT_IN]), st.lists(texts, min_size=1, max_size=3)),
    st.tuples(st.sampled_from([Operator.CONTAINS, Operator.STARTS_WITH]), st.sampled_from(NEEDLES)),
    st.tuples(st.sampled_from([Operator.IS_SET, Operator.IS_NOT_SET]), st.none()),
)
_time_comparisons = st.one_of(
    st.tuples(
        st.sampled_from([Operator.EQUALS, Operator.GT, Operator.GTE, Operator.LT, Operator.LTE]),
        time_literals,
    ),
    st.tuples(
        st.sampled_from([Operator.WITHIN_LAST_DAYS, Operator.MORE_THAN_DAYS_AGO, Operator.DAYS_AGO]),
        st.sampled_from([0, 1, 7, 30, 90]),
    ),
)
_number_comparisons = st.one_of(
    st.tuples(st.sampled_from([Operator.GT, Operator.GTE, Operator.LT, Operator.LTE]), numbers),
    st.tuples(st.sampled_from([Operator.EQUALS, Operator.NOT_EQUALS]), numbers),
    st.tuples(st.just(Operator.BETWEEN), st.lists(numbers, min_size=2, max_size=2).map(sorted)),
)


def _comparison(key: str, name: str, pairs: st.SearchStrategy[tuple[Operator, Any]]) -> st.SearchStrategy:
    return st.builds(lambda pair: {key: name, "operator": pair[0], "value": pair[1]}, pairs)


def _windowed(node: dict[str, Any], window: tuple[str, Any] | None) -> dict[str, Any]:
    return node | ({window[0]: window[1]} if window else {})


_windows = st.one_of(
    st.none(),
    st.tuples(st.just("within_last_days"), st.sampled_from([0, 1, 30, 90])),
    st.tuples(st.just("between"), st.lists(day_literals, min_size=2, max_size=2).map(sorted)),
)
_where = st.lists(
    st.builds(
        lambda key, pair: {"property": key, "operator": pair[0], "value": pair[1]},
        st.sampled_from(EVENT_KEYS),
        _json_comparisons,
    ),
    max_size=2,
)
_performed = st.one_of(
    st.tuples(st.just(Performed.AT_LEAST), st.integers(1, 3)),
    st.tuples(st.sampled_from([Performed.AT_MOST, Performed.EXACTLY]), st.integers(0, 2)),
    st.tuples(st.just(Performed.NEVER), st.none()),
)


def _event_leaf(name: str, where: list, performed: tuple, window: Any) -> dict[str, Any]:
    node = {"event": name, "where": where, "performed": performed[0]}
    if performed[1] is not None:
        node["times"] = performed[1]
    return _windowed(node, window)


def _aggregate_leaf(aggregation: str, of: str, name: str, where: list, window: Any, pair: tuple) -> dict:
    node = {"aggregate": aggregation, "of": of, "event": name, "where": where}
    return _windowed(node, window) | {"operator": pair[0], "value": pair[1]}


leaves = st.one_of(
    st.sampled_from(PROPERTY_KEYS).flatmap(lambda key: _comparison("property", key, _json_comparisons)),
    st.sampled_from(["first_name", "lifecycle_stage"]).flatmap(
        lambda key: _comparison("property", key, _text_comparisons)
    ),
    _comparison("property", "created_at", _time_comparisons | st.just((Operator.ANNIVERSARY_TODAY, None))),
    _comparison("company", "size_band", _text_comparisons),
    st.sampled_from(["tier", "plan"]).flatmap(lambda key: _comparison("company", key, _json_comparisons)),
    st.builds(_event_leaf, st.sampled_from(EVENT_NAMES), _where, _performed, _windows),
    st.builds(
        _aggregate_leaf,
        st.sampled_from(list(Aggregation)),
        st.sampled_from(EVENT_KEYS),
        st.sampled_from(EVENT_NAMES),
        _where,
        _windows,
        _number_comparisons,
    ),
    st.builds(
        lambda key, name, where, pair: {key: name, "where": where, "operator": pair[0], "value": pair[1]},
        st.sampled_from(["first_time", "last_time"]),
        st.sampled_from(EVENT_NAMES),
        _where,
        _time_comparisons,
    ),
    st.builds(
        lambda channel, topic, status: (
            {"consent": channel, "status": status} | ({"topic": topic} if topic else {})
        ),
        st.sampled_from(["email", "sms"]),
        st.sampled_from(["newsletter", None]),
        st.sampled_from(["granted", "revoked"]),
    ),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(children, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(children, max_size=3)),
        st.builds(lambda child: {"not": child}, children),
    ),
    max_leaves=5,
)
# When a tree is evaluated: the tests' START, a daylight-saving change, and the 28th of a non-leap February.
evaluation_times = st.sampled_from(
    [
        (datetime(2026, 11, 22, 1, tzinfo=UTC), "Asia/Seoul"),
        (datetime(2026, 11, 22, 1, tzinfo=UTC), "UTC"),
        (datetime(2026, 11, 1, 12, tzinfo=UTC), "America/New_York"),
        (datetime(2027, 2, 28, 3, tzinfo=UTC), "Asia/Seoul"),
    ]
)
