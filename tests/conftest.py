"""Fixtures: every database test runs on SQLite and on PostgreSQL; the API is served over real HTTP."""

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import Engine, make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from funnelwise.api.app import create_app
from funnelwise.auth.api_keys import create_api_key
from funnelwise.clock import SimulatedClock
from funnelwise.config import Settings
from funnelwise.context import Context
from funnelwise.db.base import Base
from funnelwise.db.engine import make_engine, make_sessionmaker
from funnelwise.db.migrate import upgrade
from funnelwise.tracking.models import IngestWarning
from funnelwise.tracking.resolver import resolve_all

POSTGRES_ADMIN_URL = os.environ.get(
    "FUNNELWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# 10:00 in Seoul on the day these tests were written.
START = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
TEST_SECRET = "test-secret-key-not-for-production"


def _postgres_reachable() -> bool:
    try:
        with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'funnelwise.db'}"
        return
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}; CI must run every test on it")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    name = f"fw_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=database_url, secret_key=TEST_SECRET, _env_file=None))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _shared_clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def clock(_shared_clock: SimulatedClock) -> SimulatedClock:
    """The clock of the services and of the live server, back at START for every test."""
    _shared_clock.set(START)
    return _shared_clock


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_SECRET, _env_file=None)


@pytest.fixture
def ctx(settings: Settings, clock: SimulatedClock) -> Context:
    return Context(settings=settings, clock=clock)


@pytest.fixture
def clean_db(engine: Engine) -> None:
    """Every test starts from empty tables (the schema stays: it is migrated once per run)."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    # Work the live server started after answering the previous test (a background rescore) may
    # still hold rows; PostgreSQL then picks the TRUNCATE to break the deadlock, and it tries again.
    for attempt in range(5):
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                else:
                    for table in tables:
                        connection.execute(text(f"DELETE FROM {table}"))
            return
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.2)


@pytest.fixture
def sessions(engine: Engine, clean_db: None) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(engine: Engine, database_url: str, _shared_clock: SimulatedClock) -> Iterator[str]:
    """The real app on a real port, one per database, for the whole run."""
    settings = Settings(database_url=database_url, secret_key=TEST_SECRET, _env_file=None)
    app = create_app(settings, engine=engine, clock=_shared_clock)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def resolve(sessions: sessionmaker[Session], ctx: Context) -> Callable[[], int]:
    """Works off the intake as `funnelwise serve`'s worker would: accepted tracking calls reach the log."""
    return lambda: resolve_all(sessions, ctx)


@pytest.fixture
def client_with(
    live_server: str, sessions: sessionmaker[Session], ctx: Context
) -> Iterator[Callable[..., httpx.Client]]:
    """Makes HTTP clients holding a fresh API key with the given scopes."""
    clients: list[httpx.Client] = []

    def make(*scopes: str) -> httpx.Client:
        with sessions.begin() as session:
            _key, token = create_api_key(session, ctx, "tests", scopes)
        client = httpx.Client(base_url=live_server, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(client_with: Callable[..., httpx.Client]) -> httpx.Client:
    """An HTTP client whose key may do everything."""
    return client_with("*")


@pytest.fixture
def logged_warnings(sessions: sessionmaker[Session]) -> Callable[[], list[tuple[str, str, str]]]:
    """What the worker found stored calls could not do: (message id, field, message), oldest first."""

    def read() -> list[tuple[str, str, str]]:
        with sessions() as session:
            found = session.execute(
                select(IngestWarning.message_id, IngestWarning.field, IngestWarning.message).order_by(
                    IngestWarning.id
                )
            )
            return [tuple(row) for row in found]

    return read
