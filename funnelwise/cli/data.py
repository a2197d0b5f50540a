"""`funnelwise import …`, `funnelwise export …` and `funnelwise property …`."""

import sys
from pathlib import Path

import typer
from rich.markup import escape

from funnelwise.cli.reports import ErrorReport, ProgressTask
from funnelwise.cli.runtime import console, fail, fail_on, runtime
from funnelwise.contacts.bulk import DedupeKey, UpdatePolicy
from funnelwise.contacts.exporter import check_columns, export_rows
from funnelwise.contacts.importer import ImportOptions, import_contacts
from funnelwise.contacts.properties import ObjectType, PropertyType
from funnelwise.contacts.property_definitions import create_definition, list_definitions
from funnelwise.contacts.schemas import EnumOptionIn, PropertyDefinitionIn
from funnelwise.contacts.service import ContactFilter
from funnelwise.errors import DomainError

importing = typer.Typer(help="Import data from files.", no_args_is_help=True)
exporting = typer.Typer(help="Export data to files.", no_args_is_help=True)
prop = typer.Typer(help="Custom property definitions.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(importing, name="import")
    app.add_typer(exporting, name="export")
    app.add_typer(prop, name="property")


@importing.command("contacts")
def import_contacts_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A CSV file"),
    key: DedupeKey = typer.Option(DedupeKey.EMAIL, help="Which field says two rows are one person"),
    policy: UpdatePolicy = typer.Option(
        UpdatePolicy.OVERWRITE,
        help="overwrite: file values win; fill_empty: only fill blanks; skip: leave existing",
    ),
    mapping: list[str] = typer.Option(
        [], "--map", help="'Column header=field' (repeatable); '=-' ignores a column"
    ),
    encoding: str | None = typer.Option(None, help="File encoding [default: UTF-8, else CP949]"),
    errors: Path | None = typer.Option(None, help="Where bad rows go [default: FILE.errors.csv]"),
) -> None:
    """Import contacts from a CSV with English or Korean headers; bad rows go to an error report."""
    explicit = {}
    for item in mapping:
        header, sep, target = item.rpartition("=")
        if not sep or not header:
            fail(f"--map takes 'Column header=field', got {item!r}")
        explicit[header] = target
    run = runtime()
    report = ErrorReport(errors or file.with_name(file.name + ".errors.csv"))
    options = ImportOptions(key=key, policy=policy, mapping=explicit, encoding=encoding)
    with ProgressTask(file.stat().st_size) as (progress, task), file.open("rb") as stream:
        try:
            summary = import_contacts(
                run.sessions,
                run.context,
                stream,
                options,
                on_error=report.add,
                on_progress=lambda done: progress.update(task, completed=done),
            )
        except DomainError as exc:
            fail_on(exc)
        finally:
            report.close()
    console.print(
        f"{summary.rows} rows: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.failed} failed"
    )
    if summary.ignored_columns:
        console.print(
            f"ignored columns (no field or property by that name): {escape(', '.join(summary.ignored_columns))}",
            highlight=False,
        )
    if report.count:
        console.print(
            f"[yellow]{report.count} bad rows, with line numbers and reasons, in {escape(str(report.path))}[/yellow]"
        )
        raise typer.Exit(1)


@exporting.command("contacts")
def export_contacts_command(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write [default: standard output]"
    ),
    columns: str | None = typer.Option(None, help="Comma-separated fields, extras or properties"),
    korean_headers: bool = typer.Option(False, help="Korean column headers (이메일, 휴대폰, …)"),
    lifecycle_stage: str | None = typer.Option(None, help="Only contacts in this stage"),
    company_id: int | None = typer.Option(None, help="Only contacts of this company"),
) -> None:
    """Export contacts to CSV (UTF-8 with a byte-order mark, so Excel shows Korean correctly)."""
    run = runtime()
    try:
        with run.sessions() as session:
            chosen = check_columns(
                session,
                run.context,
                [c.strip() for c in columns.split(",") if c.strip()] if columns else None,
            )
    except DomainError as exc:
        fail_on(exc)
    filters = ContactFilter(lifecycle_stage=lifecycle_stage, company_id=company_id)
    target = output.open("w", newline="", encoding="utf-8-sig") if output else sys.stdout
    try:
        for chunk in export_rows(run.engine, run.context, chosen, filters, korean_headers=korean_headers):
            target.write(chunk)
    finally:
        if output:
            target.close()


@prop.command("create")
def property_create(
    object_type: ObjectType = typer.Argument(..., help="contact or company"),
    name: str = typer.Argument(..., help="snake_case name"),
    type_: PropertyType = typer.Option(..., "--type"),
    label: str = typer.Option("", help="What people see [default: the name]"),
    option: list[str] = typer.Option([], help="For enum types: 'value' or 'value=label' (repeatable)"),
) -> None:
    """Define a custom property; values are checked against it on every write."""
    run = runtime()
    options = [EnumOptionIn(value=v, label=lbl or None) for v, _, lbl in (o.partition("=") for o in option)]
    try:
        data = PropertyDefinitionIn(name=name, label=label or name, type=type_, options=options)
        with run.sessions.begin() as session:
            created = create_definition(session, run.context, object_type, data)
    except DomainError as exc:
        fail_on(exc)
    except ValueError as exc:
        fail(str(exc))
    console.print(f"Defined {object_type} property {created.name} ({created.type}).")


@prop.command("list")
def property_list(object_type: ObjectType = typer.Argument(..., help="contact or company")) -> None:
    """List the custom properties of contacts or companies."""
    run = runtime()
    with run.sessions() as session:
        for item in list_definitions(session, object_type):
            options = ", ".join(o.value for o in item.options)
            typer.echo(f"{item.name}\t{item.type}\t{item.label}\t{options}")
