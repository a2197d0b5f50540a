"""What every CLI command needs: settings, a migrated database and a context."""

import atexit
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.clock import SystemClock
from funnelwise.config import Settings, SettingsError
from funnelwise.context import Context
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.db.migrate import current_revision, head_revision, upgrade
from funnelwise.errors import DomainError, InvalidInput

console = Console(stderr=True)
_engines: dict[str, Engine] = {}


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
    engine = _engine(settings)
    if settings.is_sqlite:
        upgrade(engine)
    elif current_revision(engine) != head_revision(engine):
        fail(
            f"the database is at revision {current_revision(engine) or 'none'}, this version needs "
            f"{head_revision(engine)}: run `funnelwise db upgrade` first"
        )
    return Runtime(settings, engine, make_sessionmaker(engine), Context(settings, SystemClock()))


def _engine(settings: Settings) -> Engine:
    """One engine per database for the life of the process, its connections closed at exit.

    An engine made per command and dropped leaves its pooled connections open until the garbage
    collector finds them (psycopg then warns of a connection deleted while still open).
    """
    engine = _engines.get(settings.database_url)
    if engine is None:
        engine = _engines[settings.database_url] = make_engine(settings)
        atexit.register(engine.dispose)
    return engine


def fail(message: str, code: int = 2) -> NoReturn:
    # Messages quote what users typed, so brackets in them are text, not rich markup.
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def fail_on(exc: DomainError) -> NoReturn:
    if isinstance(exc, InvalidInput):
        for error in exc.errors:
            console.print(f"[red]error:[/red] {escape(f'{error.field}: {error.message}')}", highlight=False)
        raise typer.Exit(2)
    fail(str(exc))


def read_yaml_mapping(file: Path, expected: str) -> dict[str, Any]:
    """The YAML mapping in `file`; anything else fails with what was `expected` ("a mapping with …")."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        fail(f"{file}: not valid YAML: {exc}")
    if not isinstance(data, dict):
        fail(f"{file}: expected {expected}")
    return data
