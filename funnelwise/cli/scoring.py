"""`funnelwise score …`: apply score models from YAML, list and show them, explain and rescore."""

from pathlib import Path

import typer
import yaml
from rich.markup import escape

from funnelwise.cli.runtime import Runtime, console, fail_on, read_yaml_mapping, runtime
from funnelwise.errors import DomainError
from funnelwise.scoring.rescore import run_rescore
from funnelwise.scoring.rules import read_definition
from funnelwise.scoring.service import (
    apply_model,
    explain,
    get_model,
    list_models,
    model_id_named,
    new_version,
)

score = typer.Typer(
    help="Lead scoring: score models, their rules and every contact's score.", no_args_is_help=True
)
NameArgument = typer.Argument(..., help="The name (or id) of the score model")


def register(app: typer.Typer) -> None:
    app.add_typer(score, name="score")


@score.command("apply")
def score_apply(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="YAML: a score model"),
    allow_unknown: bool = typer.Option(
        False, "--allow-unknown", help="Accept properties nobody defined and events never recorded yet"
    ),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="Compute the scores now (default) or leave it to the worker"
    ),
) -> None:
    """Create a score model from YAML, or give the model of that name these rules; then rescore."""
    data = read_yaml_mapping(file, "a mapping with name, rules and optionally half_life_days, cap, grades")
    run = runtime()
    try:
        definition = read_definition(data)
        with run.sessions.begin() as session:
            saved = apply_model(session, run.context, definition, allow_unknown=allow_unknown)
    except DomainError as exc:
        fail_on(exc)
    for warning in saved.warnings:
        console.print(
            f"[yellow]warning:[/yellow] {escape(f'{warning.path}: {warning.message}')}", highlight=False
        )
    model = saved.model
    if model.building is None:
        console.print(f"Score model {escape(model.name)} (id {model.id}) is unchanged.", highlight=False)
        return
    console.print(
        f"Score model {escape(model.name)} (id {model.id}): version {model.building.version}.",
        highlight=False,
    )
    if wait:
        _rescore(run, model.building.id, model.name)


@score.command("list")
def score_list() -> None:
    """Print every score model: id, name, current version, rules, and a rescore in progress."""
    run = runtime()
    with run.sessions() as session:
        for model in list_models(session):
            current = f"v{model.current.version}" if model.current else "-"
            building = model.building
            progress = (
                f"\tbuilding v{building.version}: {building.progress_done}/{building.progress_total}"
                if building
                else ""
            )
            rules = len(model.definition.get("rules", []))
            typer.echo(f"{model.id}\t{model.name}\t{current}\t{rules} rules{progress}")


@score.command("show")
def score_show(name: str = NameArgument) -> None:
    """Print a model's definition as YAML (what `score apply` reads) and its versions."""
    run = runtime()
    with run.sessions() as session:
        try:
            model = get_model(session, model_id_named(session, name))
        except DomainError as exc:
            fail_on(exc)
    typer.echo(yaml.safe_dump(model.definition, sort_keys=False, allow_unicode=True), nl=False)
    for label, version in (("current", model.current), ("building", model.building)):
        if version is not None:
            console.print(
                f"{label}: version {version.version}, {version.progress_done}/{version.progress_total} contacts",
                highlight=False,
            )


@score.command("explain")
def score_explain(
    name: str = NameArgument, contact_id: int = typer.Argument(..., help="The contact's id")
) -> None:
    """Print every contribution to a contact's current score, and the score and grade."""
    run = runtime()
    with run.sessions() as session:
        try:
            found = explain(session, run.context, model_id_named(session, name), contact_id)
        except DomainError as exc:
            fail_on(exc)
    for part in found.contributions:
        when = f"\t{part.event} at {part.occurred_at.isoformat()}" if part.occurred_at else ""
        typer.echo(
            f"{part.rule}\t{part.kind}\t{part.points:g}\tcounted {part.counted:g}\tnow {part.now:.2f}{when}"
        )
    cap = (
        f" (capped at {found.cap:g})" if found.cap is not None and found.total_before_cap > found.cap else ""
    )
    grade = f", grade {found.grade}" if found.grade else ""
    typer.echo(f"score {found.score:.2f}{cap}{grade}")


@score.command("rescore")
def score_rescore(
    name: str | None = typer.Argument(None, help="One model; every model when left out"),
) -> None:
    """Recompute scores from the log in full (after a change of properties, or daily for time-bound rules)."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            ids = [model_id_named(session, name)] if name else [m.id for m in list_models(session)]
            started = [(get_model(session, i).name, new_version(session, run.context, i)) for i in ids]
    except DomainError as exc:
        fail_on(exc)
    for model_name, version in started:
        _rescore(run, version.id, model_name)


def _rescore(run: Runtime, version_id: int, name: str) -> None:
    def progress(done: int, total: int) -> None:
        console.print(f"  {escape(name)}: {done:,} / {total:,} contacts", highlight=False)

    outcome = run_rescore(run.sessions, run.context, version_id, on_progress=progress)
    console.print(
        f"Scored {outcome.scored:,} of {outcome.contacts:,} contacts with {escape(name)} version {outcome.version}; "
        f"{outcome.changed:,} scores changed.",
        highlight=False,
    )
