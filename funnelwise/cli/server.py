"""`funnelwise serve` and `funnelwise db …`."""

import typer
import uvicorn

from funnelwise.api.app import create_app
from funnelwise.cli.runtime import console, load_settings, runtime
from funnelwise.db.engine import make_engine
from funnelwise.db.migrate import current_revision, head_revision, upgrade

db = typer.Typer(help="Database migrations.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(db, name="db")


def serve(
    host: str | None = typer.Option(
        None, help="Address to listen on [default: FUNNELWISE_HOST or 127.0.0.1]"
    ),
    port: int | None = typer.Option(None, help="Port [default: FUNNELWISE_PORT or 8000]"),
    access_log: bool = typer.Option(False, help="Log every request (costs throughput under load)"),
) -> None:
    """Run the API (with SQLite, the database file is created and migrated first)."""
    run = runtime()
    app = create_app(run.settings, engine=run.engine, clock=run.context.clock)
    host = host or run.settings.host
    port = port or run.settings.port
    console.print(f"Funnelwise on http://{host}:{port}  (database: {run.engine.url.render_as_string()})")
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)


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
