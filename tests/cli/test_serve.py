"""An operator starts `funnelwise serve` and runs `funnelwise db …` as real processes."""

import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, make_url, text

from funnelwise.db.migrate import head_revision
from tests.conftest import POSTGRES_ADMIN_URL, _libpq, _postgres_reachable

HEAD = head_revision(create_engine("sqlite://"))
STARTUP_SECONDS = 20


def _environment(**settings: str) -> dict[str, str]:
    """This process's environment without any FUNNELWISE_ setting, plus the ones given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUNNELWISE_")}
    return env | {f"FUNNELWISE_{k.upper()}": v for k, v in settings.items()}


def _funnelwise(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "funnelwise", *args],
        cwd=cwd,
        env=_environment(**settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _words(output: str) -> str:
    """Output with line wrapping undone: the console wraps long messages at its width."""
    return " ".join(output.split())


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}; CI must run every test on it")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    name = f"fw_cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_libpq(POSTGRES_ADMIN_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_serve_in_an_empty_directory_creates_a_migrated_sqlite_database(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "funnelwise", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            health = _wait_for_health(f"http://127.0.0.1:{port}/healthz", server, log)
        finally:
            server.terminate()
            server.wait(timeout=15)

    assert health == {"status": "ok", "database": "sqlite"}
    # Uvicorn shuts down gracefully on SIGTERM, then re-raises the signal so the caller sees it.
    assert server.returncode in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete." in log.read_text()
    database = tmp_path / "funnelwise.db"
    assert database.is_file()
    with create_engine(f"sqlite:///{database}").connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
    secret = tmp_path / ".funnelwise-secret"
    assert len(secret.read_text().strip()) >= 32
    assert secret.stat().st_mode & 0o777 == 0o600
    assert f"Funnelwise on http://127.0.0.1:{port}" in _words(log.read_text())


def _wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path) -> object:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"funnelwise serve exited with {server.returncode}:\n{log.read_text()}")
        try:
            response = httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        assert response.status_code == 200, response.text
        return response.json()
    pytest.fail(f"funnelwise serve did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


def test_db_upgrade_migrates_a_fresh_postgresql_database(tmp_path: Path, postgres_url: str) -> None:
    before = _funnelwise(tmp_path, "db", "current", database_url=postgres_url)
    assert before.returncode == 0, before.stderr
    assert before.stdout == f"database: empty; this version: {HEAD}\n"

    upgraded = _funnelwise(tmp_path, "db", "upgrade", database_url=postgres_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert _words(upgraded.stderr) == f"database at revision {HEAD} (was empty)"

    after = _funnelwise(tmp_path, "db", "current", database_url=postgres_url)
    assert after.returncode == 0, after.stderr
    assert after.stdout == f"database: {HEAD}; this version: {HEAD}\n"

    again = _funnelwise(tmp_path, "db", "upgrade", database_url=postgres_url)
    assert _words(again.stderr) == f"database at revision {HEAD} (was {HEAD})"
    assert list(tmp_path.iterdir()) == []  # nothing written beside a server database


def test_serve_refuses_a_postgresql_database_that_was_not_upgraded(tmp_path: Path, postgres_url: str) -> None:
    result = _funnelwise(
        tmp_path, "serve", "--port", str(_free_port()), database_url=postgres_url, secret_key="s" * 40
    )

    assert result.returncode == 2, result.stderr
    message = _words(result.stderr)
    assert message.startswith("error: the database is at revision none, this version needs ")
    assert message.endswith("run `funnelwise db upgrade` first")
    assert result.stdout == ""


def test_serve_on_postgresql_needs_a_secret_key(tmp_path: Path, postgres_url: str) -> None:
    assert _funnelwise(tmp_path, "db", "upgrade", database_url=postgres_url).returncode == 0

    result = _funnelwise(tmp_path, "serve", "--port", str(_free_port()), database_url=postgres_url)

    assert result.returncode == 2, result.stderr
    assert "FUNNELWISE_SECRET_KEY" in _words(result.stderr)
    assert _words(result.stderr).startswith("error: Config 'FUNNELWISE_SECRET_KEY' is missing")
    assert list(tmp_path.iterdir()) == []  # no secret file is made up for a shared database


def test_serve_with_the_smtp_sink_keeps_every_email_as_a_file_a_new_user_can_open(tmp_path: Path) -> None:
    port, sink_port = _free_port(), _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "funnelwise", "serve", "--port", str(port), "--smtp-sink"),
                *("--smtp-sink-port", str(sink_port), "--smtp-sink-dir", "mail"),
            ],
            cwd=tmp_path,
            env=_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for_health(f"{base}/healthz", server, log)
            key = _funnelwise(tmp_path, "apikey", "create", "--name", "me", "--scopes", "*").stdout.strip()
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key.split()[-1]}"}) as api:
                contact = api.post(
                    "/api/v1/contacts", json={"email": "ada@example.com", "first_name": "에이다"}
                )
                template = {
                    "channel": "email",
                    "purpose": "informational",
                    "locales": {
                        "ko": {"subject": "{{ contact.first_name }}님, 환영합니다", "html": "<p>반가워요</p>"}
                    },
                }
                assert api.put("/api/v1/templates/welcome", json=template).status_code in (200, 201)
                sent = api.post("/api/v1/templates/welcome/test", json={"contact_id": contact.json()["id"]})
                assert sent.status_code == 201, sent.text
                deadline = time.monotonic() + STARTUP_SECONDS
                while not list((tmp_path / "mail").glob("*.eml")) and time.monotonic() < deadline:
                    time.sleep(0.1)
                kept = list((tmp_path / "mail").glob("*.eml"))
                message = api.get(f"/api/v1/outbox/{sent.json()['message_id']}").json()
        finally:
            server.terminate()
            server.wait(timeout=15)

    assert len(kept) == 1, log.read_text()
    mail = email.message_from_bytes(kept[0].read_bytes(), policy=email.policy.default)
    assert (mail["To"], mail["Subject"]) == ("ada@example.com", "에이다님, 환영합니다")
    assert (message["status"], message["provider"]) == ("sent", "smtp")
    assert "Emails are kept in" in _words(log.read_text())
