"""Rendering a stored template for one contact: the sandbox, the variables, the locale choice.

Templates are compiled once per process (by template id and update time) because the sender
renders hundreds of thousands of messages from a handful of templates.
"""

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Template, TemplateError
from jinja2.exceptions import SecurityError
from sqlalchemy import select
from sqlalchemy.orm import Session

from funnelwise.clock import SystemClock
from funnelwise.config import Settings
from funnelwise.messaging.message import MessageChannel, Purpose
from funnelwise.messaging.models import MessageTemplate
from funnelwise.messaging.templates.compile import INLINE_AT_RENDER, TEXT_DERIVED, TEXT_FROM_HTML, texts
from funnelwise.messaging.templates.definition import normalize_locale
from funnelwise.messaging.templates.email_html import inline_rendered, text_of_rendered, tidy_text
from funnelwise.messaging.templates.environment import HTML, TEXT
from funnelwise.messaging.templates.filters import FORMATTING, FilterError, Formatting, babel_locale

# Compiled templates kept per process: far more than any deployment has live templates in all their locales.
_MAX_CACHED = 1024


@dataclass(frozen=True)
class TemplateSpec:
    """What the sender needs of a stored template; `compiled` is `MessageTemplate.compiled`.

    `version` (the update time and a digest of `compiled`, set by `load_templates`) keys the
    per-process cache of compiled templates; a spec built by hand is keyed by its content.
    """

    name: str
    channel: MessageChannel
    purpose: Purpose
    topic: str
    default_locale: str
    compiled: dict[str, Any]
    id: int = 0
    version: str = ""

    @cached_property
    def cache_key(self) -> tuple[Any, ...]:
        return (self.name, self.id, self.version or _digest(self.compiled))


@dataclass(frozen=True)
class RenderedContent:
    """A template rendered for one contact, before the law's additions and link tracking.

    `data` by channel: kakao `{"template_code", "variables", "buttons"}`, kakao_brand
    `{"buttons", "image_url"}`, sms `{"title"}` (an LMS), push `{"title", "url", "data"}`,
    webhook `{"url", "payload"}`; `locale` is the variant chosen.
    """

    subject: str | None
    text: str
    html: str | None
    data: dict[str, Any] = field(default_factory=dict)
    locale: str | None = None


class RenderError(Exception):
    """A template could not be rendered for a contact; `str(exc)` is the reason shown on the message."""


def load_templates(session: Session, names: Iterable[str]) -> dict[str, TemplateSpec]:
    """The stored templates among `names`, by name; unknown names are left out."""
    wanted = set(names)
    if not wanted:
        return {}
    found = session.scalars(select(MessageTemplate).where(MessageTemplate.name.in_(wanted)))
    return {row.name: spec_of(row) for row in found}


def spec_of(row: MessageTemplate) -> TemplateSpec:
    return TemplateSpec(
        name=row.name,
        channel=MessageChannel(row.channel),
        purpose=Purpose(row.purpose),
        topic=row.topic,
        default_locale=row.default_locale,
        compiled=row.compiled,
        id=row.id,
        version=f"{row.updated_at.isoformat()}/{_digest(row.compiled)}",
    )


def choose_locale(spec: TemplateSpec, wanted: str | None) -> str:
    """The variant for a contact's locale: "ko-KR" exactly, then "ko", then another "ko-…", then the default."""
    if wanted:
        tag = _normalized(wanted)
        if tag is not None:
            if tag in spec.compiled:
                return tag
            language = tag.split("-")[0]
            if language in spec.compiled:
                return language
            for available in spec.compiled:
                if available.split("-")[0] == language:
                    return available
    return spec.default_locale


def render(
    spec: TemplateSpec,
    *,
    contact: dict[str, Any],
    company: dict[str, Any] | None,
    variables: dict[str, Any],
    locale: str | None,
    settings: Settings,
    now: datetime | None = None,
) -> RenderedContent:
    """The template's content for this contact in the best locale; raises RenderError.

    `locale` overrides the contact's own; `now` is the time `{{ now }}` shows (pass the
    context's clock; without it the system clock).
    """
    chosen = choose_locale(spec, locale or contact.get("locale"))
    content = spec.compiled.get(chosen)
    if content is None:
        raise RenderError(f"template {spec.name!r} has no {chosen!r} variant")
    context = dict(variables)
    context.update(
        contact=contact,
        company=company or {},
        trigger=_trigger(variables.get("trigger")),
        now=now or SystemClock().now(),
        locale=chosen,
    )
    context[FORMATTING] = Formatting(babel_locale(chosen), _zone(contact.get("timezone"), settings))
    rendered: dict[str, str] = {}
    for path, template in _compiled(spec, chosen).items():
        try:
            rendered[path] = template.render(context)
        # A template is user code: whatever it raises fails this one message, with the reason.
        except Exception as exc:
            raise RenderError(f"{path}: {_reason(exc)}") from exc
    return _assemble(spec.channel, chosen, content, rendered)


def _assemble(
    channel: MessageChannel, locale: str, content: dict[str, Any], rendered: dict[str, str]
) -> RenderedContent:
    def one_line(path: str) -> str | None:
        return " ".join(rendered[path].split()) if path in rendered else None

    match channel:
        case MessageChannel.EMAIL:
            return _email(locale, content, rendered, one_line("subject"))
        case MessageChannel.SMS:
            data = {"title": one_line("title")} if "title" in rendered else {}
            return RenderedContent(None, rendered["text"].strip(), None, data, locale)
        case MessageChannel.KAKAO:
            data = {
                "template_code": content["template_code"],
                "variables": _rebuild(content.get("variables", {}), "variables", rendered),
                "buttons": _rebuild(content.get("buttons", []), "buttons", rendered),
            }
            return RenderedContent(None, rendered["text"].strip(), None, data, locale)
        case MessageChannel.KAKAO_BRAND:
            data = {"buttons": _rebuild(content.get("buttons", []), "buttons", rendered)}
            if "image_url" in rendered:
                data["image_url"] = rendered["image_url"].strip()
            return RenderedContent(None, rendered["text"].strip(), None, data, locale)
        case MessageChannel.PUSH:
            data = {
                "title": one_line("title"),
                "url": rendered["url"].strip() if "url" in rendered else None,
                "data": _rebuild(content.get("data", {}), "data", rendered),
            }
            return RenderedContent(None, rendered["text"].strip(), None, data, locale)
        case MessageChannel.WEBHOOK:
            payload = _rebuild(content["payload"], "payload", rendered)
            data = {"url": rendered["url"].strip(), "payload": payload}
            return RenderedContent(None, json.dumps(payload, ensure_ascii=False), None, data, locale)
    raise RenderError(f"no rendering for channel {channel!r}")


def _email(
    locale: str, content: dict[str, Any], rendered: dict[str, str], subject: str | None
) -> RenderedContent:
    html = rendered.get("html")
    if html is not None and content.get(INLINE_AT_RENDER):
        html = inline_rendered(html)
    if content.get(TEXT_FROM_HTML) and html is not None:
        text = text_of_rendered(html)
    elif content.get(TEXT_DERIVED):
        text = tidy_text(rendered["text"])
    else:
        text = rendered.get("text", "").strip()
    return RenderedContent(subject, text, html, {}, locale)


def _rebuild(value: Any, path: str, rendered: dict[str, str]) -> Any:
    """`value` with each text replaced by its rendering (the inverse of `compile.texts`)."""
    if isinstance(value, str):
        return rendered.get(path, value)
    if isinstance(value, dict):
        return {key: _rebuild(item, f"{path}.{key}", rendered) for key, item in value.items()}
    if isinstance(value, list):
        return [_rebuild(item, f"{path}[{index}]", rendered) for index, item in enumerate(value)]
    return value


def _trigger(trigger: Any) -> dict[str, Any]:
    """The triggering event as `trigger.name` (also `trigger.event`) and `trigger.properties`."""
    if not isinstance(trigger, dict):
        return {}
    found = dict(trigger)
    if "event" in found:
        found.setdefault("name", found["event"])
    found.setdefault("properties", {})
    return found


def _zone(name: Any, settings: Settings) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return settings.tz


def _reason(exc: Exception) -> str:
    if isinstance(exc, SecurityError):
        return f"not allowed in a template: {exc}"
    if isinstance(exc, FilterError):
        return str(exc)
    if isinstance(exc, TemplateError):
        return exc.message or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _digest(compiled: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(compiled, sort_keys=True, default=str).encode()).hexdigest()[:16]


@cache
def _normalized(tag: str) -> str | None:
    return normalize_locale(tag)


# (cache key, locale) → path → compiled template; least recently used dropped first.
_cache: OrderedDict[tuple[Any, ...], dict[str, Template]] = OrderedDict()
_cache_lock = threading.Lock()


def _compiled(spec: TemplateSpec, locale: str) -> dict[str, Template]:
    key = (*spec.cache_key, locale)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    content = spec.compiled[locale]
    found = {}
    for path, source in texts(content):
        if spec.channel == MessageChannel.KAKAO and path == "template_code":
            continue  # the provider's code for the approved template, not text to render
        env = HTML if spec.channel == MessageChannel.EMAIL and path == "html" else TEXT
        found[path] = env.from_string(source)
    with _cache_lock:
        _cache[key] = found
        while len(_cache) > _MAX_CACHED:
            _cache.popitem(last=False)
    return found
