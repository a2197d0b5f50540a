"""Rule conditions: parsed with errors named `condition.<path>`, names nothing defines as warnings."""

import json
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from funnelwise.conditions import Condition, check_names, parse_condition
from funnelwise.errors import FieldError, InvalidInput
from funnelwise.sales.schemas import NameWarningOut


def parse_rule_condition(data: Any) -> Condition:
    try:
        return parse_condition(data)
    except InvalidInput as exc:
        raise InvalidInput([_under_condition(error) for error in exc.errors]) from None


def stored_tree(condition: dict[str, Any]) -> Condition:
    """A stored (valid) condition, parsed once per process for each distinct text."""
    return _tree(json.dumps(condition, sort_keys=True))


def name_warnings(session: Session, tree: Condition) -> list[NameWarningOut]:
    return [NameWarningOut(path=w.path, message=w.message) for w in check_names(session, tree)]


@lru_cache(maxsize=1024)
def _tree(condition_json: str) -> Condition:
    return parse_condition(json.loads(condition_json))


def _under_condition(error: FieldError) -> FieldError:
    field = error.field if error.field == "condition" else f"condition.{error.field}"
    return FieldError(field, error.message)
