"""`funnelwise broadcast …`: define, send, schedule, cancel broadcasts and read their figures."""

from datetime import datetime
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from funnelwise.cli.runtime import console, fail, fail_on, read_yaml_mapping, runtime
from funnelwise.errors import DomainError, FieldError, InvalidInput
from funnelwise.messaging.broadcasts import (
    BroadcastIn,
    BroadcastOut,
    BroadcastStatus,
    Figures,
    Rates,
    broadcast_figures,
    broadcast_id_named,
    cancel_broadcast,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
    schedule_broadcast,
    send_broadcast,
    start_broadcast,
)

broadcast = typer.Typer(
    help="Broadcasts: one-off or scheduled sends to a segment or list.", no_args_is_help=True
)
NameArgument = typer.Argument(..., help="The name (or id) of the broadcast")
_FIGURES = (
    "audience", "messages", "queued", "sending", "sent", "failed", "suppressed", "unknown",
    "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed", "converted",
)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.add_typer(broadcast, name="broadcast")


@broadcast.command("create")
def broadcast_create(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="YAML or JSON: name, template, segment or list, and optionally scheduled_at, "
        "throttle_per_minute, send_time_optimization, ab, conversion_event",
    ),
) -> None:
    """Create a broadcast from a file: a draft, or scheduled when it names `scheduled_at`."""
    data = read_yaml_mapping(file, "a mapping with name, template and segment or list")
    run = runtime()
    try:
        definition = BroadcastIn.model_validate(data)
        with run.sessions.begin() as session:
            created = create_broadcast(session, run.context, definition)
    except ValidationError as exc:
        fail_on(_invalid(exc))
    except DomainError as exc:
        fail_on(exc)
    when = f", scheduled for {created.scheduled_at.isoformat()}" if created.scheduled_at else " as a draft"
    console.print(f"Created broadcast {escape(created.name)} (id {created.id}){when}.", highlight=False)


@broadcast.command("list")
def broadcast_list() -> None:
    """Print every broadcast, newest first: id, name, status, channel, audience (tab-separated)."""
    run = runtime()
    with run.sessions() as session:
        for item in list_broadcasts(session):
            typer.echo(f"{item.id}\t{item.name}\t{item.status}\t{item.channel}\t{item.audience}")


@broadcast.command("send")
def broadcast_send(name: str = NameArgument) -> None:
    """Send now (an A/B test's sample only); resumes a send a crash interrupted."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            broadcast_id = broadcast_id_named(session, name)
            started = start_broadcast(session, run.context, broadcast_id)
        with _progress() as progress:
            task = progress.add_task("Queueing messages", total=started.audience)
            sent = send_broadcast(
                run.sessions, run.context, broadcast_id, progress=lambda n: progress.advance(task, n)
            )
    except DomainError as exc:
        fail_on(exc)
    _print_outcome(sent)


@broadcast.command("schedule")
def broadcast_schedule(
    name: str = NameArgument,
    at: str = typer.Argument(..., help="When to start, ISO 8601 with an offset: 2026-12-01T09:00+09:00"),
) -> None:
    """Set the time a draft (or scheduled) broadcast starts; the worker starts it then."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        fail(f"scheduled_at: {at!r} is not an ISO 8601 date and time")
    if moment.tzinfo is None:
        fail(f"scheduled_at: {at!r} has no UTC offset; add one, for example +09:00")
    run = runtime()
    try:
        with run.sessions.begin() as session:
            scheduled = schedule_broadcast(session, run.context, broadcast_id_named(session, name), moment)
    except DomainError as exc:
        fail_on(exc)
    assert scheduled.scheduled_at is not None
    console.print(
        f"Scheduled {escape(scheduled.name)} for {scheduled.scheduled_at.isoformat()}.", highlight=False
    )


@broadcast.command("cancel")
def broadcast_cancel(name: str = NameArgument) -> None:
    """Stop the broadcast; its messages still queued are suppressed ("broadcast cancelled")."""
    run = runtime()
    try:
        with run.sessions.begin() as session:
            cancelled = cancel_broadcast(session, run.context, broadcast_id_named(session, name))
            figures = broadcast_figures(session, run.context, cancelled.id)
    except DomainError as exc:
        fail_on(exc)
    console.print(
        f"Cancelled {escape(cancelled.name)}: {figures.total.suppressed} messages held back, "
        f"{figures.total.sent} already sent.",
        highlight=False,
    )


@broadcast.command("status")
def broadcast_status(name: str = NameArgument) -> None:
    """Print the broadcast's state and figures, in all and per A/B variant."""
    run = runtime()
    try:
        with run.sessions() as session:
            item = get_broadcast(session, broadcast_id_named(session, name))
            figures = broadcast_figures(session, run.context, item.id)
    except DomainError as exc:
        fail_on(exc)
    out = Console(width=200)
    out.print(_headline(item), highlight=False)
    columns: list[tuple[str, Figures]] = [("total", figures.total)]
    columns += [
        (f"{v.variant}{' (winner)' if v.variant == item.winner else ''}", v) for v in figures.variants
    ]
    table = Table(show_header=True, header_style="bold")
    table.add_column("")
    for title, _ in columns:
        table.add_column(escape(title), justify="right")
    for key in _FIGURES:
        table.add_row(key, *(_cell(column, key) for _, column in columns))
    out.print(table)


def _cell(figures: Figures, key: str) -> str:
    """The count, with its rate over the messages sent for the outcomes that have one."""
    value = getattr(figures, key)
    rate = getattr(figures.rates, key) if key in Rates.model_fields else None
    return f"{value:,}" if rate is None else f"{value:,} ({rate:.1%})"


def _headline(item: BroadcastOut) -> str:
    parts = [f"{escape(item.name)} (id {item.id}): {item.status}, {item.channel}, audience {item.audience:,}"]
    if item.scheduled_at and item.status == BroadcastStatus.SCHEDULED:
        parts.append(f"starts {item.scheduled_at.isoformat()}")
    if item.started_at:
        parts.append(f"started {item.started_at.isoformat()}")
    if item.winner:
        parts.append(f"winner {escape(item.winner)}")
    return "; ".join(parts)


def _print_outcome(item: BroadcastOut) -> None:
    if item.status == BroadcastStatus.TESTING and item.ab:
        console.print(
            f"Testing {escape(item.name)} on a sample of {item.ab['sample_percent']}%; the winner goes to "
            f"the rest after {item.ab['wait_hours']} hours.",
            highlight=False,
        )
        return
    console.print(
        f"{escape(item.name)} is {item.status}: {item.audience:,} recipients queued.", highlight=False
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        [
            FieldError(".".join(str(part) for part in error["loc"]) or "file", error["msg"])
            for error in exc.errors()
        ]
    )
