"""`funnelwise source …`: tracking sources and their write keys."""

import typer

from funnelwise.cli.runtime import console, fail_on, runtime
from funnelwise.errors import DomainError
from funnelwise.tracking.resolver import intake_status, retry_failed
from funnelwise.tracking.sources import (
    create_source,
    intake_failures,
    list_sources,
    revoke_source,
)

source = typer.Typer(
    help="Tracking sources (websites, apps, servers) and their write keys.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(source, name="source")


@source.command("create")
def source_create(name: str = typer.Option(..., help="What sends the data, e.g. 'website'")) -> None:
    """Create a source and print its write key (for the web tracker or a Segment SDK)."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            created = create_source(session, run.context, name)
    except DomainError as exc:
        fail_on(exc)
    console.print(f"Created source {created.id} '{created.name}'. Its write key:")
    typer.echo(created.write_key)


@source.command("list")
def source_list() -> None:
    """List sources with their write keys."""
    run = runtime()
    with run.sessions() as session:
        for item in list_sources(session):
            state = f"revoked {item.revoked_at:%Y-%m-%d}" if item.revoked_at else "active"
            typer.echo(f"{item.id}\t{item.name}\t{item.write_key}\t{state}")


@source.command("revoke")
def source_revoke(key: str = typer.Argument(..., help="The source's id or write key")) -> None:
    """Revoke a source: calls with its write key get 401 from now on."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            revoked = revoke_source(session, run.context, key)
    except DomainError as exc:
        fail_on(exc)
    console.print(f"Revoked source {revoked.id} '{revoked.name}'.")


@source.command("status")
def source_status(
    limit: int = typer.Option(10, min=0, help="How many of the latest failures to show"),
) -> None:
    """Show the calls accepted but not yet logged: waiting for the worker, and failed with their errors."""
    run = runtime()
    with run.sessions() as session:
        status = intake_status(session)
        failures = intake_failures(session, limit) if limit else []
    typer.echo(f"waiting\t{status.waiting}")
    typer.echo(f"failed\t{status.failed}")
    if not failures:
        return
    console.print(f"The latest {len(failures)} of {status.failed} failed, newest first:")
    for failure in failures:
        # An error from the database goes on with its SQL; its first line says what went wrong.
        error = failure.error.splitlines()[0] if failure.error else ""
        typer.echo(f"{failure.failed_at.isoformat()}\t{failure.message_id}\t{error}")
    console.print("Once the cause is fixed, `funnelwise source retry` puts them back in the queue.")


@source.command("retry")
def source_retry() -> None:
    """Put the failed calls back in the queue; the worker tries them again."""
    run = runtime()
    with run.sessions.begin() as session:
        retried = retry_failed(session)
    if retried:
        console.print(f"Put {retried} failed {'call' if retried == 1 else 'calls'} back in the queue.")
    else:
        console.print("No failed calls to retry.")
