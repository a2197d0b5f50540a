"""The Jinja sandbox templates run in: no Python internals, missing values render empty.

Reaching for an internal (`{{ ''.__class__ }}`, `{{ contact.__init__ }}`) raises `SecurityError`
rather than rendering nothing, so the message fails with that reason and the attempt is seen; the
save check already refuses the plain forms (an attribute or key starting with `_`).
"""

import operator
from typing import Any, NoReturn

from jinja2 import ChainableUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from funnelwise.messaging.templates.filters import FILTERS

# Bounds on what one expression may build: a template is user code run for every recipient.
MAX_TEXT = 100_000
MAX_EXPONENT = 64


class _SandboxedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed")

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `contact.items` is the contact's property "items" when it has one, not dict.items.
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"an exponent above {MAX_EXPONENT} is not allowed")
            return operator.pow(left, right)
        if operator_name == "*":
            for text, times in ((left, right), (right, left)):
                repeats = isinstance(text, str | list | tuple) and isinstance(times, int)
                if repeats and len(text) * times > MAX_TEXT:
                    raise SecurityError(f"a repeated value longer than {MAX_TEXT:,} is not allowed")
            return operator.mul(left, right)
        return super().call_binop(context, operator_name, left, right)


def _environment(*, html: bool) -> _SandboxedEnvironment:
    env = _SandboxedEnvironment(
        autoescape=html,
        undefined=ChainableUndefined,
        # Text parts (SMS, Kakao, the plain part of an email) read as written: a line holding only
        # `{% if %}` or `{% for %}` leaves no blank line behind.
        trim_blocks=not html,
        lstrip_blocks=not html,
        keep_trailing_newline=False,
    )
    env.filters.update(FILTERS)
    return env


HTML = _environment(html=True)
TEXT = _environment(html=False)


def private_names(tree: nodes.Template) -> list[tuple[int, str]]:
    """(line, name) of every attribute or literal key starting with `_`: never a template's business."""
    found: list[tuple[int, str]] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            name = node.arg.value
        else:
            continue
        if name.startswith("_"):
            found.append((node.lineno, name))
    return found
