"""What every CLI command needs: settings, a migrated database and a context."""

from dataclasses import dataclass
from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SystemClock
from funnelwise.config import Settings, SettingsError
from funnelwise.context import Context
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.db.migrate import current_revision, head_revision, upgrade
from funnelwise.errors import DomainError, InvalidInput

console = Console(stderr=True)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    context: Context


def load_settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        fail(str(exc))


def runtime() -> Runtime:
    """Opens the configured database; the embedded SQLite one is created and migrated on first use."""
    settings = load_settings()
    try:
        settings.resolved_secret_key()
    except SettingsError as exc:
        fail(str(exc))
    engine = make_engine(settings)
    if settings.is_sqlite:
        upgrade(engine)
    elif current_revision(engine) != head_revision(engine):
        fail(
            f"the database is at revision {current_revision(engine) or 'none'}, this version needs "
            f"{head_revision(engine)}: run `funnelwise db upgrade` first"
        )
    return Runtime(settings, engine, make_sessionmaker(engine), Context(settings, SystemClock()))


def fail(message: str, code: int = 2) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def fail_on(exc: DomainError) -> NoReturn:
    if isinstance(exc, InvalidInput):
        for error in exc.errors:
            console.print(f"[red]error:[/red] {error.field}: {error.message}", highlight=False)
        raise typer.Exit(2)
    fail(str(exc))
