"""The hosted form's HTML pages and its embed script, rendered from the package's Jinja2 templates."""

from collections.abc import Mapping
from functools import partial
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from funnelwise.tracking.forms.definition import UTM_FIELDS, FormIn
from funnelwise.tracking.forms.fields import AskedField
from funnelwise.tracking.forms.locale import Locale, text

_templates = Environment(
    loader=PackageLoader("funnelwise.tracking", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def form_page(
    form: FormIn,
    fields: list[AskedField],
    *,
    action: str,
    hidden: Mapping[str, str],
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> str:
    """The form, with what was entered and an error beside each field at fault when re-shown."""
    return _templates.get_template("form.html").render(
        locale=form.locale,
        page_title=form.title or form.name,
        t=partial(text, locale=form.locale),
        form=form,
        fields=fields,
        action=action,
        hidden=hidden,
        values=values or {},
        errors=errors or {},
    )


def message_page(
    locale: Locale, title: str, *paragraphs: str, link: str | None = None, link_text: str = ""
) -> str:
    """A page that says one thing: thanks, too many tries, confirmed, a bad link."""
    return _templates.get_template("message.html").render(
        locale=locale, page_title=title, paragraphs=paragraphs, link=link, link_text=link_text
    )


def confirm_page(locale: Locale, title: str, paragraph: str, button: str) -> str:
    """Asks the person to confirm with a click; the button posts back to the same address."""
    return _templates.get_template("confirm.html").render(
        locale=locale, page_title=title, paragraph=paragraph, button=button
    )


def top_redirect_page(locale: Locale, link: str) -> str:
    """Sends the embedding page, not the iframe, to the form's redirect URL."""
    return _templates.get_template("redirect.html").render(
        locale=locale, page_title=text("continue", locale), link=link, link_text=text("continue", locale)
    )


def embed_script(slug: str, form_url: str, title: str) -> str:
    return _templates.get_template("embed.js").render(
        slug=slug, form_url=form_url, title=title, utm_fields=list(UTM_FIELDS)
    )
