"""`funnelwise import events|orders|products`: the event log and the shop's history from files."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

# The contact import's error report and progress bar, so every import reports alike.
from funnelwise.cli.data import importing
from funnelwise.cli.reports import ErrorReport, ProgressTask
from funnelwise.cli.runtime import console, fail_on, runtime
from funnelwise.commerce.order_import import import_orders
from funnelwise.commerce.product_import import import_products
from funnelwise.errors import DomainError
from funnelwise.tracking.event_import import import_events, source_id_named

FileArgument = typer.Argument(..., exists=True, dir_okay=False, readable=True)
ErrorsOption = typer.Option(None, help="Where bad rows go [default: FILE.errors.csv]")
EncodingOption = typer.Option(None, help="File encoding [default: UTF-8, else CP949]")


def register(_app: typer.Typer) -> None:
    importing.command("events")(import_events_command)
    importing.command("orders")(import_orders_command)
    importing.command("products")(import_products_command)


def import_events_command(
    file: Path = FileArgument,
    source: str | None = typer.Option(None, help="The id or name of the source the events came from"),
    errors: Path | None = ErrorsOption,
) -> None:
    """Import events from a JSONL file, one Segment message a line; bad lines go to an error report."""
    run = runtime()
    source_id = None
    if source is not None:
        try:
            with run.sessions() as session:
                source_id = source_id_named(session, source)
        except DomainError as exc:
            fail_on(exc)
    summary, report = _run(
        file,
        errors,
        lambda stream, report, progress: import_events(
            run.sessions, run.context, stream, source_id=source_id, on_error=report.add, on_progress=progress
        ),
    )
    console.print(
        f"{summary.lines} lines: {summary.stored} stored, {summary.duplicates} already stored, "
        f"{summary.failed} failed"
    )
    _finish(report, "lines")


def import_orders_command(
    file: Path = FileArgument, encoding: str | None = EncodingOption, errors: Path | None = ErrorsOption
) -> None:
    """Import historic orders from a shop's CSV export, one row per line item, English or Korean headers."""
    run = runtime()
    summary, report = _run(
        file,
        errors,
        lambda stream, report, progress: import_orders(
            run.sessions, run.context, stream, encoding=encoding, on_error=report.add, on_progress=progress
        ),
    )
    console.print(
        f"{summary.rows} rows, {summary.orders} orders: {summary.imported} imported, "
        f"{summary.already_imported} already imported; {summary.failed} rows failed"
    )
    _ignored(summary.ignored_columns)
    _finish(report, "rows")


def import_products_command(
    file: Path = FileArgument, encoding: str | None = EncodingOption, errors: Path | None = ErrorsOption
) -> None:
    """Import the product catalogue from a CSV with English or Korean headers (상품코드, 상품명, 판매가, …)."""
    run = runtime()
    summary, report = _run(
        file,
        errors,
        lambda stream, report, progress: import_products(
            run.sessions, run.context, stream, encoding=encoding, on_error=report.add, on_progress=progress
        ),
    )
    console.print(
        f"{summary.rows} rows: {summary.created} created, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {summary.failed} failed"
    )
    _ignored(summary.ignored_columns)
    _finish(report, "rows")


def _run(
    file: Path, errors: Path | None, work: Callable[[Any, ErrorReport, Callable[[int], None]], Any]
) -> Any:
    """Runs an import over the file with a progress bar; its bad rows go to the error report."""
    report = ErrorReport(errors or file.with_name(file.name + ".errors.csv"))
    with ProgressTask(file.stat().st_size) as (progress, task), file.open("rb") as stream:
        try:
            return work(stream, report, lambda done: progress.update(task, completed=done)), report
        except DomainError as exc:
            fail_on(exc)
        finally:
            report.close()


def _ignored(columns: list[str]) -> None:
    if columns:
        console.print(f"ignored columns: {escape(', '.join(columns))}", highlight=False)


def _finish(report: ErrorReport, what: str) -> None:
    if report.count:
        console.print(
            f"[yellow]{report.count} bad {what}, with line numbers and reasons, in {escape(str(report.path))}[/yellow]"
        )
        raise typer.Exit(1)
