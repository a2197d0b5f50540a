"""Reading a condition tree from JSON or YAML data, with errors a marketer can act on."""

from typing import Annotated, Any

import yaml
from pydantic import PlainSerializer, PlainValidator, ValidationError, WithJsonSchema
from pydantic_core import ErrorDetails

from funnelwise.conditions.operands import describe
from funnelwise.conditions.registry import BUILT_IN_KEYS, leaf_kind, registered_keys
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
    refuse,
)
from funnelwise.errors import FieldError, InvalidInput

MAX_DEPTH = 32
_LEAVES: dict[str, type[Condition]] = {
    "property": ContactProperty,
    "company": CompanyProperty,
    "aggregate": AggregateCondition,
    "first_time": FirstTime,
    "last_time": LastTime,
    "consent": ConsentCondition,
}


def parse_condition(data: Any) -> Condition:
    """A condition tree from decoded JSON or YAML; `InvalidInput` names every bad node by its path."""
    errors: list[FieldError] = []
    tree = _parse(data, "", 0, errors)
    if errors or tree is None:
        raise InvalidInput(errors)
    return tree


def parse_condition_yaml(text: str) -> Condition:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput.single("condition", f"not valid YAML: {exc}") from None
    return parse_condition(data)


def dump_condition(tree: Condition) -> dict[str, Any]:
    """The tree as JSON-ready data that `parse_condition` reads back; defaults are left out."""
    return _kind_first(tree.model_dump(mode="json", by_alias=True, exclude_defaults=True))


def _validate_field(data: Any) -> Condition:
    if isinstance(data, Condition):
        return data
    try:
        return parse_condition(data)
    except InvalidInput as exc:
        raise refuse(str(exc)) from None


# A condition as a field of another pydantic model (a segment, a workflow branch).
ConditionField = Annotated[
    Condition,
    PlainValidator(_validate_field),
    PlainSerializer(dump_condition),
    WithJsonSchema({"type": "object", "description": "A condition tree (see docs/conditions.md)"}),
]


def _parse(data: Any, path: str, depth: int, errors: list[FieldError]) -> Condition | None:
    if depth > MAX_DEPTH:
        errors.append(FieldError(_at(path), f"conditions nest at most {MAX_DEPTH} deep"))
        return None
    if not isinstance(data, dict):
        errors.append(FieldError(_at(path), f"expected a condition (a mapping), got {describe(data)}"))
        return None
    key = _key(data, path, errors)
    if key is None:
        return None
    if key in ("all", "any", "not"):
        return _combination(key, data, path, depth, errors)
    model = EventCondition if key == "event" else _model(key)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors.extend(_field_error(error, path, model) for error in exc.errors())
        return None


def _model(key: str) -> type[Condition]:
    built_in = _LEAVES.get(key)
    if built_in is not None:
        return built_in
    kind = leaf_kind(key)
    assert kind is not None
    return kind.model


def _key(data: dict[Any, Any], path: str, errors: list[FieldError]) -> str | None:
    """The one key that says what a node is; `event` only when nothing else does (aggregates name one)."""
    known = BUILT_IN_KEYS | set(registered_keys())
    found = [key for key in data if key in known and key != "event"]
    if not found and "event" in data:
        return "event"
    if len(found) == 1:
        return found[0]
    if found:
        listed = " and ".join(repr(key) for key in found)
        errors.append(FieldError(_at(path), f"a condition is one thing; found {listed}"))
        return None
    expected = ", ".join(sorted(known))
    got = ", ".join(repr(key) for key in data) or "none"
    errors.append(FieldError(_at(path), f"a condition needs one of the keys {expected}; got {got}"))
    return None


def _combination(
    key: str, data: dict[Any, Any], path: str, depth: int, errors: list[FieldError]
) -> Condition | None:
    for extra in data.keys() - {key}:
        errors.append(FieldError(_join(path, str(extra)), f"unknown key {extra!r} next to {key!r}"))
    if key == "not":
        child = _parse(data["not"], _join(path, "not"), depth + 1, errors)
        return Not(negated=child) if child is not None else None
    items = data[key]
    if not isinstance(items, list):
        errors.append(FieldError(_join(path, key), f"expected a list of conditions, got {describe(items)}"))
        return None
    parsed = [_parse(item, f"{_join(path, key)}[{i}]", depth + 1, errors) for i, item in enumerate(items)]
    if any(child is None for child in parsed) or data.keys() - {key}:
        return None
    return All(all=tuple(parsed)) if key == "all" else AnyOf(any=tuple(parsed))


def _field_error(error: ErrorDetails, path: str, model: type[Condition]) -> FieldError:
    loc = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    where = _at(f"{path}{loc}" if path else loc.lstrip("."))
    name = error["loc"][-1] if error["loc"] else ""
    match error["type"]:
        case "condition":
            return FieldError(where, error["msg"])
        case "enum":
            expected = error.get("ctx", {}).get("expected", "")
            return FieldError(where, f"unknown {name} {error['input']!r}; expected one of {expected}")
        case "extra_forbidden":
            keys = ", ".join(field.alias or key for key, field in model.model_fields.items())
            return FieldError(where, f"unknown key {name!r}; this condition takes {keys}")
        case "missing":
            return FieldError(where, f"missing {name!r}")
    return FieldError(where, error["msg"])


def _kind_first(data: Any) -> Any:
    """Puts the key that says what a node is first, so dumped trees read like the documentation."""
    if isinstance(data, list):
        return [_kind_first(item) for item in data]
    if not isinstance(data, dict):
        return data
    first = [key for key in data if key in BUILT_IN_KEYS or leaf_kind(key)]
    first.sort(key=lambda key: key == "event")
    ordered = {key: data[key] for key in first} | data
    return {key: _kind_first(value) for key, value in ordered.items()}


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


def _at(path: str) -> str:
    return path or "condition"
