"""The extension point: later packages add leaf kinds (list or segment membership, scores, RFM tiers).

A leaf kind is a pydantic model (a `Condition` with a field named after its key), a function that
compiles a leaf to a SQL boolean about the contact row in `SqlScope.contact_id`, and a function that
decides the same for one contact's `Facts`. The two must agree, like the built-in leaves do.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement

from funnelwise.conditions.facts import Facts
from funnelwise.conditions.relative_time import Moment
from funnelwise.conditions.tree import Condition


@dataclass(frozen=True)
class SqlScope:
    """What a leaf's SQL may refer to: the id of the contact row being tested, the dialect, the time."""

    contact_id: ColumnElement[int]
    dialect: str
    moment: Moment


ToSql = Callable[[Any, SqlScope], ColumnElement[bool]]
Evaluate = Callable[[Any, Facts, Moment], bool]


@dataclass(frozen=True)
class LeafKind:
    key: str
    model: type[Condition]
    to_sql: ToSql
    evaluate: Evaluate


BUILT_IN_KEYS = frozenset(
    {"all", "any", "not", "property", "company", "event", "aggregate", "first_time", "last_time", "consent"}
)
_kinds: dict[str, LeafKind] = {}


def register_leaf(key: str, model: type[Condition], to_sql: ToSql, evaluate: Evaluate) -> None:
    """Makes `{key: …}` a leaf of the condition language, compiled and evaluated by these functions."""
    if key in BUILT_IN_KEYS or key in _kinds:
        raise ValueError(f"the condition key {key!r} is taken")
    if key not in model.model_fields:
        raise ValueError(f"{model.__name__} must have a field named {key!r}, the key that marks its leaves")
    _kinds[key] = LeafKind(key, model, to_sql, evaluate)


def unregister_leaf(key: str) -> None:
    """Forgets a registered leaf kind (for tests, which register kinds of their own)."""
    del _kinds[key]


def registered_keys() -> tuple[str, ...]:
    return tuple(sorted(_kinds))


def leaf_kind(key: str) -> LeafKind | None:
    return _kinds.get(key)


def kind_of(node: Condition) -> LeafKind:
    """The registered kind of a leaf that is not built in."""
    for kind in _kinds.values():
        if type(node) is kind.model:
            return kind
    raise TypeError(f"{type(node).__name__} is not a registered condition leaf")
