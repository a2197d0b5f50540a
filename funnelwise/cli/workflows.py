"""`funnelwise workflow …`: validate and apply workflow definitions, list, pause and resume workflows."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from funnelwise.cli.runtime import console, fail, fail_on, load_settings, read_yaml_mapping, runtime
from funnelwise.errors import DomainError
from funnelwise.workflows.schemas import ProblemOut
from funnelwise.workflows.service import (
    apply_workflow,
    list_workflows,
    pause_workflow,
    resume_workflow,
    validate_workflow,
    workflow_id_named,
)
from funnelwise.workflows.simulate import format_simulation, read_contacts, read_events, simulate

workflow = typer.Typer(
    help="Journeys: workflow definitions (execution is not built yet).", no_args_is_help=True
)
FileArgument = typer.Argument(
    ..., exists=True, dir_okay=False, readable=True, help="YAML or JSON: a workflow definition"
)
NameArgument = typer.Argument(..., help="The name (or id) of the workflow")
AllowUnknown = typer.Option(
    False, "--allow-unknown", help="Accept properties nobody defined and events never recorded yet"
)


def register(app: typer.Typer) -> None:
    app.add_typer(workflow, name="workflow")


@workflow.command("validate")
def workflow_validate(file: Path = FileArgument, allow_unknown: bool = AllowUnknown) -> None:
    """Check a definition without storing it; every problem is printed with its path."""
    data = read_yaml_mapping(file, "a mapping with name, trigger, steps and settings")
    run = runtime()
    try:
        with run.sessions() as session:
            checked = validate_workflow(session, data, allow_unknown=allow_unknown)
    except DomainError as exc:
        fail_on(exc)
    _warn(checked.warnings)
    console.print(f"Workflow {escape(checked.name)} is valid: {checked.steps} steps.", highlight=False)


@workflow.command("apply")
def workflow_apply(file: Path = FileArgument, allow_unknown: bool = AllowUnknown) -> None:
    """Create the workflow (as a draft), or give it a new version when the definition changed."""
    data = read_yaml_mapping(file, "a mapping with name, trigger, steps and settings")
    run = runtime()
    try:
        with run.sessions.begin() as session:
            saved = apply_workflow(session, run.context, data, allow_unknown=allow_unknown)
    except DomainError as exc:
        fail_on(exc)
    _warn(saved.warnings)
    found = saved.workflow
    named = f"Workflow {escape(found.name)} (id {found.id})"
    if not saved.changed:
        console.print(f"{named} is unchanged: version {found.version}.", highlight=False)
    elif saved.created:
        console.print(f"{named} created as a draft: version {found.version}.", highlight=False)
    else:
        console.print(f"{named}: version {found.version}, {found.status}.", highlight=False)


@workflow.command("list")
def workflow_list() -> None:
    """Print every workflow: id, name, status and version (tab-separated)."""
    run = runtime()
    with run.sessions() as session:
        for found in list_workflows(session):
            typer.echo(f"{found.id}\t{found.name}\t{found.status}\tv{found.version}")


@workflow.command("pause")
def workflow_pause(name: str = NameArgument) -> None:
    """Stop an active workflow."""
    _change(name, pause_workflow)


@workflow.command("resume")
def workflow_resume(name: str = NameArgument) -> None:
    """Make a draft or paused workflow active."""
    _change(name, resume_workflow)


@workflow.command("simulate")
def workflow_simulate(
    file: Path = FileArgument,
    contacts: Path | None = typer.Option(
        None, "--contacts", exists=True, dir_okay=False, help="YAML, JSON or CSV: the contacts to run through"
    ),
    generate: int = typer.Option(0, "--generate", min=0, help="Make up this many contacts"),
    events: Path | None = typer.Option(
        None, "--events", exists=True, dir_okay=False, help="JSON Lines: {contact, event, properties, at}"
    ),
    start: str | None = typer.Option(None, "--start", help="ISO time the simulation starts (default: now)"),
    days: int = typer.Option(30, "--days", min=1, help="How many days to simulate"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Run a definition on a simulated clock in a throwaway database: each contact's path, in moments."""
    data = read_yaml_mapping(file, "a mapping with name, trigger, steps and settings")
    settings = load_settings()
    try:
        begins = (
            datetime.fromisoformat(start) if start else datetime.now(UTC).replace(second=0, microsecond=0)
        )
    except ValueError:
        fail(f"--start {start!r} is not an ISO time such as 2026-11-22T10:00:00+09:00")
    if begins.tzinfo is None:
        begins = begins.replace(tzinfo=settings.tz)
    try:
        people = read_contacts(contacts) if contacts else []
        people += [{"email": f"contact{i}@example.com"} for i in range(generate)]
        if not people:
            fail("nobody to simulate: pass --contacts FILE or --generate N")
        happened = read_events(events) if events else []
        out = simulate(data, people, happened, begins, days, timezone=settings.timezone)
    except DomainError as exc:
        fail_on(exc)
    for warning in out.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    typer.echo(out.model_dump_json(indent=2) if as_json else format_simulation(out))


def _change(name: str, change: Any) -> None:
    run = runtime()
    try:
        with run.sessions.begin() as session:
            found = change(session, run.context, workflow_id_named(session, name))
    except DomainError as exc:
        fail_on(exc)
    console.print(f"Workflow {escape(found.name)} (id {found.id}) is {found.status}.", highlight=False)


def _warn(warnings: list[ProblemOut]) -> None:
    for warning in warnings:
        console.print(
            f"[yellow]warning:[/yellow] {escape(f'{warning.path}: {warning.message}')}", highlight=False
        )
