"""From checked content to what rendering uses: every text parsed (errors with their line),
email CSS inlined and the plain-text part derived, once, at save time."""

from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from funnelwise.errors import FieldError, InvalidInput
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.templates.email_html import has_styles, html_to_text, inline_css
from funnelwise.messaging.templates.environment import HTML, TEXT, private_names

# Keys of `compiled[locale]` for email that say what was left for render time.
INLINE_AT_RENDER = "inline_css_at_render"
TEXT_FROM_HTML = "text_from_html"
# Set when the plain-text part was derived from the HTML at save time (it is tidied after rendering).
TEXT_DERIVED = "text_derived"


def compile_contents(
    channel: MessageChannel, contents: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """What rendering uses, by locale; `InvalidInput` names each text that does not parse, with its line."""
    errors: list[FieldError] = []
    for locale, content in contents.items():
        for path, value in texts(content):
            env = HTML if (channel == MessageChannel.EMAIL and path == "html") else TEXT
            errors.extend(_parse_errors(env, f"locales.{locale}.{path}", value))
    if errors:
        raise InvalidInput(errors)
    if channel != MessageChannel.EMAIL:
        return {locale: dict(content) for locale, content in contents.items()}
    return {locale: _email(content) for locale, content in contents.items()}


def texts(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every text in a content mapping, nested mappings and lists included, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from texts(item, f"{path}[{index}]")


def _parse_errors(env: SandboxedEnvironment, path: str, source: str) -> list[FieldError]:
    try:
        tree = env.parse(source)
        env.compile(tree)  # unknown filters and tests are found here
    except TemplateSyntaxError as exc:
        return [FieldError(path, f"line {exc.lineno}: {exc.message}")]
    return [
        FieldError(path, f"line {line}: {name!r} starts with '_'; templates may not reach such names")
        for line, name in private_names(tree)
    ]


def _email(content: dict[str, Any]) -> dict[str, Any]:
    compiled = dict(content)
    html = content.get("html")
    if html is None:
        return compiled
    if has_styles(html):
        inlined = inline_css(html)
        if inlined is None or _parse_errors(HTML, "html", inlined):
            compiled[INLINE_AT_RENDER] = True
        else:
            compiled["html"] = inlined
    if "text" not in content:
        derived = html_to_text(html)
        if derived is None or _parse_errors(TEXT, "text", derived):
            compiled[TEXT_FROM_HTML] = True
        else:
            compiled["text"] = derived
            compiled[TEXT_DERIVED] = True
    return compiled
