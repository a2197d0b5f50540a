"""`funnelwise serve` and `funnelwise db …`."""

import contextlib
import logging
import os
import signal
from pathlib import Path

import typer
import uvicorn

from funnelwise.api.app import create_app
from funnelwise.cli.runtime import console, load_settings, runtime
from funnelwise.db.engine import make_engine
from funnelwise.db.migrate import current_revision, head_revision, upgrade
from funnelwise.messaging.sink import MailSink
from funnelwise.worker import Worker

db = typer.Typer(help="Database migrations.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
    app.add_typer(db, name="db")


def serve(
    host: str | None = typer.Option(
        None, help="Address to listen on [default: FUNNELWISE_HOST or 127.0.0.1]"
    ),
    port: int | None = typer.Option(None, help="Port [default: FUNNELWISE_PORT or 8000]"),
    access_log: bool = typer.Option(False, help="Log every request (costs throughput under load)"),
    smtp_sink: bool = typer.Option(
        False, help="Keep every email in a folder instead of sending it (an embedded SMTP server)"
    ),
    smtp_sink_port: int = typer.Option(2525, help="Port of the embedded SMTP sink"),
    smtp_sink_dir: Path = typer.Option(Path("funnelwise-mail"), help="Where the sink keeps .eml files"),
) -> None:
    """Run the API and the worker (with SQLite, the database file is created and migrated first)."""
    run = runtime()
    sink = None
    if smtp_sink:
        sink = MailSink(smtp_sink_dir.resolve(), port=smtp_sink_port)
        sink.start()
        run.settings.smtp_host, run.settings.smtp_port = sink.host, sink.port
        run.settings.smtp_security, run.settings.smtp_username = "none", None
        console.print(f"Emails are kept in {sink.folder} (SMTP sink on {sink.host}:{sink.port}), not sent")
    app = create_app(run.settings, engine=run.engine, clock=run.context.clock)
    host = host or run.settings.host
    port = port or run.settings.port
    console.print(f"Funnelwise on http://{host}:{port}  (database: {run.engine.url.render_as_string()})")
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
    finally:
        if sink is not None:
            sink.stop()


def worker(
    wake_fd: int | None = typer.Option(None, hidden=True, help="A pipe whose bytes wake the worker"),
    niceness: int = typer.Option(0, help="Lower the worker's CPU priority by this much (0-19)"),
) -> None:
    """Run the background worker: resolve accepted tracking calls into the event log (and, on
    PostgreSQL, run as many as you like beside `funnelwise serve` with FUNNELWISE_RUN_WORKER=false)."""
    run = runtime()
    os.nice(max(0, min(niceness, 19)))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if wake_fd is None:
        console.print(f"Funnelwise worker (database: {run.engine.url.render_as_string()})")
    background = Worker(run.sessions, run.context)
    # SIGTERM (a deploy, `docker stop`) ends the loop after the batch in hand: messages a batch was
    # sending are recorded as sent rather than left for the lease to call them unknown.
    signal.signal(signal.SIGTERM, lambda *_: background.stop())
    with contextlib.suppress(KeyboardInterrupt):
        background.run(wake_fd)


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration this version has (run it once per deploy on PostgreSQL)."""
    engine = make_engine(load_settings())
    before = current_revision(engine)
    upgrade(engine)
    console.print(f"database at revision {current_revision(engine)} (was {before or 'empty'})")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and the one this version needs."""
    engine = make_engine(load_settings())
    typer.echo(f"database: {current_revision(engine) or 'empty'}; this version: {head_revision(engine)}")
