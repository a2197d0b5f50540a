"""An operator creates a source for each website or app, hands out its write key and revokes it when leaked."""

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from funnelwise.cli import app
from tests.conftest import TEST_SECRET


@pytest.fixture
def funnelwise(
    database_url: str, clean_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Runs the `funnelwise` command on the test database."""
    monkeypatch.chdir(tmp_path)
    env = {"FUNNELWISE_DATABASE_URL": database_url, "FUNNELWISE_SECRET_KEY": TEST_SECRET, "COLUMNS": "400"}

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=env)

    return run


def test_a_source_made_through_the_api_takes_calls_until_it_is_revoked(
    api: httpx.Client, live_server: str
) -> None:
    created = api.post("/api/v1/sources", json={"name": " shop app "})
    assert created.status_code == 201
    source = created.json()
    assert (source["name"], source["revoked_at"], len(source["write_key"])) == ("shop app", None, 32)
    assert source["write_key"].isalnum()
    call = {"type": "track", "userId": "u-1", "event": "Opened"}

    before = httpx.post(f"{live_server}/v1/batch", json={"batch": [call]}, auth=(source["write_key"], ""))
    revoked = api.post(f"/api/v1/sources/{source['id']}/revoke")
    after = httpx.post(f"{live_server}/v1/batch", json={"batch": [call]}, auth=(source["write_key"], ""))

    assert (before.status_code, after.status_code) == (200, 401)
    assert revoked.json()["revoked_at"] == "2026-11-22T01:00:00Z"
    assert [(s["name"], s["revoked_at"]) for s in api.get("/api/v1/sources").json()] == [
        ("shop app", "2026-11-22T01:00:00Z")
    ]


def test_each_source_has_its_own_write_key(api: httpx.Client) -> None:
    keys = {
        api.post("/api/v1/sources", json={"name": name}).json()["write_key"]
        for name in ("web", "ios", "server")
    }

    assert len(keys) == 3


def test_a_source_needs_a_name_and_a_key_allowed_to_write(
    api: httpx.Client, client_with: Callable[..., httpx.Client]
) -> None:
    reader = client_with("tracking:read")

    nameless = api.post("/api/v1/sources", json={"name": "   "})
    refused = reader.post("/api/v1/sources", json={"name": "web"})
    unknown = api.post("/api/v1/sources/424242/revoke")
    beyond_any_id = api.post(f"/api/v1/sources/{2**64}/revoke")

    assert (nameless.status_code, nameless.json()["errors"]) == (
        422,
        [{"field": "name", "message": "a source needs a name, for example 'website'"}],
    )
    assert refused.status_code == 403
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "source '424242' not found")
    assert beyond_any_id.status_code == 422
    assert reader.get("/api/v1/sources").json() == []


def test_the_cli_creates_lists_and_revokes_sources(funnelwise: Callable[..., Result]) -> None:
    created = funnelwise("source", "create", "--name", "website")
    write_key = created.stdout.strip()

    listed = funnelwise("source", "list")
    revoked = funnelwise("source", "revoke", write_key)
    relisted = funnelwise("source", "list")
    missing = funnelwise("source", "revoke", "no-such-key")

    assert created.exit_code == 0
    assert write_key.isalnum()
    assert "Created source 1 'website'. Its write key:" in created.stderr
    assert listed.stdout == f"1\twebsite\t{write_key}\tactive\n"
    assert (revoked.exit_code, "Revoked source 1 'website'." in revoked.stderr) == (0, True)
    assert relisted.stdout.startswith(f"1\twebsite\t{write_key}\trevoked ")
    assert (missing.exit_code, "source 'no-such-key' not found" in missing.stderr) == (2, True)
