"""`funnelwise form …`: hosted lead-capture forms."""

import json
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError
from rich.markup import escape

from funnelwise.cli.runtime import console, fail, fail_on, runtime
from funnelwise.errors import DomainError, FieldError, InvalidInput
from funnelwise.tracking.forms import FormIn, create_form, embed_snippet, get_form, list_forms

form = typer.Typer(help="Hosted lead-capture forms.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(form, name="form")


@form.command("create")
def form_create(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A YAML or JSON file"),
) -> None:
    """Define a form from a YAML or JSON file; prints its address and embed snippet."""
    data = _definition(file)
    run = runtime()
    try:
        with run.sessions.begin() as session:
            created = create_form(session, run.context, data)
    except DomainError as exc:
        fail_on(exc)
    console.print(escape(f"Created form '{created.slug}' ({created.name}) at {created.url}"), highlight=False)
    console.print("Paste this where the form should appear:")
    typer.echo(created.embed_snippet)


@form.command("list")
def form_list() -> None:
    """List forms with their addresses."""
    run = runtime()
    with run.sessions() as session:
        for item in list_forms(session, run.context):
            typer.echo(f"{item.slug}\t{item.name}\t{len(item.fields)} fields\t{item.url}")


@form.command("embed")
def form_embed(slug: str = typer.Argument(..., help="The form's slug")) -> None:
    """Print the HTML snippet that embeds the form in a page."""
    run = runtime()
    try:
        with run.sessions() as session:
            found = get_form(session, run.context, slug)
    except DomainError as exc:
        fail_on(exc)
    typer.echo(embed_snippet(run.settings, found.slug))


def _definition(file: Path) -> FormIn:
    text = file.read_text(encoding="utf-8-sig")
    try:
        raw: Any = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        fail(f"{file}: not valid {'JSON' if file.suffix.lower() == '.json' else 'YAML'}: {exc}")
    try:
        return FormIn.model_validate(raw)
    except ValidationError as exc:
        fail_on(InvalidInput([FieldError(_place(e["loc"]), e["msg"]) for e in exc.errors()]))


def _place(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "definition"
