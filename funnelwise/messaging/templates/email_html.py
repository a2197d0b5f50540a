"""Email HTML: CSS inlined (mail clients drop <style>), and a plain-text part derived from the HTML.

Both are done once, at save time, on the template's source, Jinja tags and all. An HTML parser
would move or escape those tags (a `{% for %}` between table rows is moved out of the table,
`{% if a > 1 %}` becomes `a &gt; 1`), so each tag is swapped for a placeholder first and put
back after: an HTML comment where the tag stands between elements, a plain word inside an
element's tag and in the text part (a text extractor drops comments).

Where the parser still moves a tag that stands between elements (a loop over table rows, for the
text part), the save-time functions answer None, and the work is done at render time on the
rendered HTML instead (`inline_rendered`, `text_of_rendered`).
"""

import re
from collections.abc import Callable

import css_inline
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# Nothing in a template spells these; the trailing Q keeps 1 and 10 apart.
_WORD = "FWJINJA{}Q"
_COMMENT = "<!--FWJINJA{}Q-->"
# The parser lower-cases a placeholder standing as an attribute name and gives it an empty value.
_PLACEHOLDER = re.compile(r'<!--FWJINJA(\d+)Q-->|FWJINJA(\d+)Q(?:="")?', re.IGNORECASE)
_STYLE = re.compile(r"<style[\s>]", re.IGNORECASE)
# inscriptis writes a link as [text](url); a mail's text part reads better as "text (url)".
_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)\)")
# Stylesheets named by <link> stay where they are: saving a template fetches nothing from the network.
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_link_tags=True)
_TEXT_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_links=True)


def has_styles(html: str) -> bool:
    """Whether there is a <style> element to inline; without one the HTML is kept as written."""
    return _STYLE.search(html) is not None


def inline_css(html: str) -> str | None:
    """The template with its <style> rules in style attributes; None when a Jinja tag would move."""
    tags: list[str] = []
    outside: list[int] = []
    protected = _protect(html, tags, outside, lambda i, in_tag: (_WORD if in_tag else _COMMENT).format(i))
    inlined = _INLINER.inline(protected)
    return _restore(inlined, tags) if _kept(inlined, len(tags), outside, all_needed=True) else None


def html_to_text(html: str) -> str | None:
    """The plain-text part of an HTML template, itself a template; None when a Jinja tag would move.

    Tags inside attributes other than link targets disappear with their attributes, as they should.
    """
    tags: list[str] = []
    outside: list[int] = []
    protected = _protect(html, tags, outside, lambda i, _in_tag: _WORD.format(i))
    text = _plain(protected)
    return _restore(text, tags) if _kept(text, len(tags), outside, all_needed=False) else None


def inline_rendered(html: str) -> str:
    """CSS inlined into a rendered message, where no Jinja is left to keep."""
    return _INLINER.inline(html)


def text_of_rendered(html: str) -> str:
    """The plain-text part of a rendered HTML message."""
    return _plain(html)


def tidy_text(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, none at either end."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _plain(html: str) -> str:
    text = get_text(html, _TEXT_CONFIG)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(1).strip() else m.group(2), text)
    return tidy_text(text)


def _protect(html: str, tags: list[str], outside: list[int], placeholder: Callable[[int, bool], str]) -> str:
    parts: list[str] = []
    in_tag = False
    last = 0
    for match in _JINJA.finditer(html):
        before = html[last : match.start()]
        in_tag = _inside_tag(before, in_tag)
        if not in_tag:
            outside.append(len(tags))
        parts.append(before)
        parts.append(placeholder(len(tags), in_tag))
        tags.append(match.group())
        last = match.end()
    parts.append(html[last:])
    return "".join(parts)


def _inside_tag(text: str, was: bool) -> bool:
    """Whether what follows `text` stands inside an element's tag (between `<name` and `>`)."""
    opened = text.rfind("<")
    closed = text.rfind(">")
    if opened == -1 and closed == -1:
        return was
    return opened > closed


def _kept(result: str, count: int, outside: list[int], *, all_needed: bool) -> bool:
    """Whether every tag between elements came through once and in order (attributes may be
    reordered, and the text part drops most of them, so tags inside a tag need only not repeat)."""
    found = [int(m.group(1) or m.group(2)) for m in _PLACEHOLDER.finditer(result)]
    if len(found) != len(set(found)) or any(i >= count for i in found):
        return False
    if all_needed and len(found) != count:
        return False
    wanted = set(outside)
    return [i for i in found if i in wanted] == outside


def _restore(text: str, tags: list[str]) -> str:
    return _PLACEHOLDER.sub(lambda m: tags[int(m.group(1) or m.group(2))], text)
