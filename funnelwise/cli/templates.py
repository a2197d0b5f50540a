"""`funnelwise template …`: check, apply, list and preview message templates."""

import json
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.markup import escape

from funnelwise.cli.runtime import console, fail, fail_on, runtime
from funnelwise.errors import DomainError, FieldError, InvalidInput
from funnelwise.messaging.message import MessageChannel
from funnelwise.messaging.templates.preview import PreviewIn, preview_template
from funnelwise.messaging.templates.store import apply_template, check_template, list_templates
from funnelwise.sales.lookup import contact_id_named

template = typer.Typer(help="Message templates: check, apply, list and preview.", no_args_is_help=True)
FilesArgument = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="YAML or JSON files: one template or a list in each"
)


def register(app: typer.Typer) -> None:
    app.add_typer(template, name="template")


@template.command("validate")
def template_validate(files: list[Path] = FilesArgument) -> None:
    """Check templates without storing them; every problem is printed with its path and line."""
    definitions = _read(files)
    _each(definitions, check_template)
    for data in definitions:
        console.print(f"Template {escape(str(data['name']))} is valid.", highlight=False)


@template.command("apply")
def template_apply(files: list[Path] = FilesArgument) -> None:
    """Create each template or replace the one of its name; with one bad template none is stored."""
    definitions = _read(files)
    run = runtime()
    try:
        with run.sessions.begin() as session:
            saved = _each(definitions, lambda data: apply_template(session, run.context, data))
    except DomainError as exc:
        fail_on(exc)
    for result in saved:
        found = result.template
        named = f"Template {escape(found.name)} (id {found.id}, {found.channel}, {found.purpose})"
        state = "created" if result.created else "replaced" if result.changed else "unchanged"
        console.print(f"{named} {state}.", highlight=False)


@template.command("list")
def template_list(
    channel: MessageChannel | None = typer.Option(None, "--channel", help="Only templates of this channel"),
) -> None:
    """Print every template: id, name, channel, purpose, topic and locales (tab-separated)."""
    run = runtime()
    with run.sessions() as session:
        for found in list_templates(session, channel):
            locales = ",".join(sorted(found.locales))
            typer.echo(
                f"{found.id}\t{found.name}\t{found.channel}\t{found.purpose}\t{found.topic}\t{locales}"
            )


@template.command("preview")
def template_preview(
    name: str = typer.Argument(..., help="The template's name (or id)"),
    contact: str = typer.Option(..., "--contact", help="The contact (id or email) to render it for"),
    locale: str | None = typer.Option(None, "--locale", help="This locale instead of the contact's"),
    variables: str | None = typer.Option(
        None, "--variables", help='JSON: more variables, e.g. \'{"order": {"total": 12000}}\''
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Render a template for a contact: subject, text, then the HTML and channel data when there are."""
    extra = _variables(variables)
    run = runtime()
    try:
        with run.sessions() as session:
            contact_id = contact_id_named(session, contact)
            out = preview_template(
                session, run.context, name, PreviewIn(contact_id=contact_id, locale=locale, variables=extra)
            )
    except DomainError as exc:
        fail_on(exc)
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    if out.subject is not None:
        typer.echo(f"Subject: {out.subject}")
    typer.echo(f"Locale: {out.locale}")
    typer.echo("")
    typer.echo(out.text)
    if out.html is not None:
        typer.echo("\n--- HTML ---")
        typer.echo(out.html)
    if out.data:
        typer.echo("\n--- data ---")
        typer.echo(json.dumps(out.data, ensure_ascii=False, indent=2, default=str))


def _read(files: list[Path]) -> list[dict[str, Any]]:
    """Every template in the files, in order."""
    found: list[dict[str, Any]] = []
    for file in files:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            fail(f"{file}: not valid YAML or JSON: {exc}")
        items = data if isinstance(data, list) else [data]
        if not items or not all(isinstance(item, dict) for item in items):
            fail(
                f"{file}: expected a template (a mapping with name, channel, purpose and locales) "
                "or a list of them"
            )
        found.extend(items)
    return found


def _each(definitions: list[dict[str, Any]], work: Any) -> list[Any]:
    """`work` on every definition; the problems of all, each under the template's name when several."""
    results: list[Any] = []
    errors: list[FieldError] = []
    for index, data in enumerate(definitions):
        try:
            results.append(work(data))
        except InvalidInput as exc:
            prefix = f"{data.get('name', f'#{index}')}: " if len(definitions) > 1 else ""
            errors.extend(FieldError(f"{prefix}{e.field}", e.message) for e in exc.errors)
        except DomainError as exc:
            fail_on(exc)
    if errors:
        fail_on(InvalidInput(errors))
    return results


def _variables(raw: str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        found = json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"--variables is not valid JSON: {exc}")
    if not isinstance(found, dict):
        fail("--variables must be a JSON object")
    return found
