"""`funnelwise workflow …`: validate and apply workflow definitions, list, pause and resume workflows."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from funnelwise.cli.runtime import console, fail, fail_on, load_settings, read_yaml_mapping, runtime
from funnelwise.errors import DomainError
from funnelwise.workflows.migration import migrate_enrollments
from funnelwise.workflows.schemas import EnrollIn, JourneyOut, ProblemOut, WorkflowStatusOut
from funnelwise.workflows.service import (
    apply_workflow,
    enroll_contacts,
    list_workflows,
    load_workflow,
    pause_workflow,
    resume_workflow,
    validate_workflow,
    workflow_id_named,
)
from funnelwise.workflows.simulate import format_simulation, read_contacts, read_events, simulate
from funnelwise.workflows.status import contact_journeys, workflow_status

workflow = typer.Typer(help="Journeys: define, run, watch and simulate workflows.", no_args_is_help=True)
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


@workflow.command("status")
def workflow_status_command(name: str = NameArgument) -> None:
    """Print per version and step how many entered, wait, went on, exited, converted and failed."""
    run = runtime()
    try:
        with run.sessions() as session:
            found = workflow_status(session, workflow_id_named(session, name))
    except DomainError as exc:
        fail_on(exc)
    console.print(
        f"Workflow {escape(found.name)} (id {found.id}) is {found.status}: version {found.version}.",
        highlight=False,
    )
    _print_status(found)


@workflow.command("enroll")
def workflow_enroll(
    name: str = NameArgument,
    contact: list[int] = typer.Option(..., min=1, help="A contact's id (repeatable)"),
    key: str | None = typer.Option(None, help="Names the request: the same key never enrolls twice"),
) -> None:
    """Enroll contacts by hand in an active workflow."""
    try:
        request = EnrollIn(contact_ids=contact, key=key)
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    run = runtime()
    try:
        with run.sessions.begin() as session:
            workflow_id = workflow_id_named(session, name)
            named = load_workflow(session, workflow_id).name
            result = enroll_contacts(session, run.context, workflow_id, request)
    except DomainError as exc:
        fail_on(exc)
    ids = ", ".join(str(contact_id) for contact_id in result.enrolled)
    console.print(
        f"Enrolled {len(result.enrolled)} of {len(contact)} in workflow {escape(named)}"
        + (f": {ids}." if ids else "."),
        highlight=False,
    )
    for skipped in result.skipped:
        console.print(
            f"[yellow]skipped:[/yellow] contact {skipped.contact_id}: {escape(skipped.reason)}",
            highlight=False,
        )


@workflow.command("journeys")
def workflow_journeys(contact_id: int = typer.Argument(..., min=1, help="The contact's id")) -> None:
    """Print a contact's path through every workflow it was enrolled in, newest first."""
    run = runtime()
    try:
        with run.sessions() as session:
            found = contact_journeys(session, contact_id)
    except DomainError as exc:
        fail_on(exc)
    if not found:
        console.print(f"Contact {contact_id} has not been enrolled in any workflow.", highlight=False)
    for journey in found:
        typer.echo(_journey_line(journey))
        for step in journey.steps:
            when = f"{step.entered_at.isoformat()}\t{step.left_at.isoformat()}"
            typer.echo(f"\t{step.step_id}\t{step.type}\t{when}\t{step.outcome}")


@workflow.command("migrate")
def workflow_migrate(
    name: str = NameArgument,
    to_version: int | None = typer.Option(None, min=1, help="The version to move to (default: the newest)"),
) -> None:
    """Move live enrollments of older versions to a version that has the step they stand at."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            workflow_id = workflow_id_named(session, name)
            named = load_workflow(session, workflow_id).name
            result = migrate_enrollments(session, run.context, workflow_id, to_version)
    except DomainError as exc:
        fail_on(exc)
    console.print(
        f"Moved {result.moved} live enrollments of workflow {escape(named)} to version {result.to_version}.",
        highlight=False,
    )
    for left in result.stranded:
        console.print(
            f"[yellow]stayed:[/yellow] {left.count} on version {left.version} at step "
            f"{escape(repr(left.step_id))}, which version {result.to_version} does not have",
            highlight=False,
        )


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


def _print_status(found: WorkflowStatusOut) -> None:
    columns = ("entered", "waiting", "completed", "exited", "converted", "failed")
    typer.echo("\t".join(("version", "step", "type", *columns)))
    for version in found.versions:
        for step in version.steps:
            counts = (str(getattr(step, column)) for column in columns)
            typer.echo("\t".join((str(version.version), step.step_id, step.type, *counts)))
    totals = ("enrolled", "active", "completed", "exited", "converted", "failed")
    typer.echo("")
    typer.echo("\t".join(("version", *totals)))
    for version in found.versions:
        typer.echo("\t".join((str(version.version), *(str(getattr(version.totals, t)) for t in totals))))


def _journey_line(journey: JourneyOut) -> str:
    if journey.status == "active":
        state = f"at {journey.current_step} until {journey.due_at.isoformat() if journey.due_at else '-'}"
        if journey.waiting_for:
            state += f", waiting for {journey.waiting_for!r}"
        if journey.attempts:
            state += f", {journey.attempts} failed attempts, last: {journey.last_error}"
    else:
        finished = journey.finished_at.isoformat() if journey.finished_at else "-"
        state = f"{journey.reason} at {finished}"
    head = (journey.enrollment_id, f"{journey.workflow} v{journey.version}", journey.status, state)
    return "\t".join(str(part) for part in (*head, f"enrolled {journey.enrolled_at.isoformat()}"))


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
