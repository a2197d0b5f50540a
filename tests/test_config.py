"""Settings read from defaults, the environment and a `.env` file; the secret key kept beside the database."""

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from funnelwise.config import SECRET_FILE_NAME, Settings, SettingsError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No FUNNELWISE_* variable from the machine running the tests, and an empty working directory."""
    for name in list(os.environ):
        if name.upper().startswith("FUNNELWISE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_out_of_the_box_funnelwise_uses_sqlite_in_seoul() -> None:
    settings = Settings(_env_file=None)

    assert settings.database_url == "sqlite:///./funnelwise.db"
    assert settings.timezone == "Asia/Seoul"
    assert str(settings.tz) == "Asia/Seoul"
    assert settings.default_region == "KR"
    assert settings.secret_key is None
    assert settings.auto_create_companies is True
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.is_sqlite is True


def test_environment_variables_prefixed_funnelwise_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNNELWISE_DATABASE_URL", "postgresql+psycopg://fw@db.internal/funnelwise")
    monkeypatch.setenv("FUNNELWISE_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("FUNNELWISE_TIMEZONE", "America/New_York")
    monkeypatch.setenv("FUNNELWISE_DEFAULT_REGION", "us")
    monkeypatch.setenv("FUNNELWISE_AUTO_CREATE_COMPANIES", "false")
    monkeypatch.setenv("FUNNELWISE_PORT", "9000")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///ignored-without-prefix.db")

    settings = Settings(_env_file=None)

    assert settings.database_url == "postgresql+psycopg://fw@db.internal/funnelwise"
    assert settings.is_sqlite is False
    assert settings.secret_key == "from-the-environment"
    assert str(settings.tz) == "America/New_York"
    assert settings.default_region == "US"
    assert settings.auto_create_companies is False
    assert settings.port == 9000


def test_a_dot_env_file_in_the_working_directory_is_read(clean_environment: Path) -> None:
    (clean_environment / ".env").write_text(
        "FUNNELWISE_TIMEZONE=Europe/Berlin\nFUNNELWISE_DEFAULT_REGION=DE\nOTHER_APP_SETTING=ignored\n"
    )

    settings = Settings()

    assert (settings.timezone, settings.default_region) == ("Europe/Berlin", "DE")
    assert settings.database_url == "sqlite:///./funnelwise.db"


def test_the_environment_wins_over_the_dot_env_file(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / ".env").write_text("FUNNELWISE_TIMEZONE=Europe/Berlin\n")
    monkeypatch.setenv("FUNNELWISE_TIMEZONE", "Asia/Tokyo")

    assert Settings().timezone == "Asia/Tokyo"


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "KST", "../../etc/passwd"])
def test_an_unknown_timezone_is_refused_by_name(timezone: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(timezone=timezone, _env_file=None)
    assert refused.value.errors()[0]["loc"] == ("timezone",)
    assert refused.value.errors()[0]["msg"] == (
        f"Value error, unknown IANA timezone {timezone!r}, for example 'Asia/Seoul'"
    )


@pytest.mark.parametrize("region", ["ZZ", "Korea", ""])
def test_an_unknown_phone_region_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, region: str) -> None:
    monkeypatch.setenv("FUNNELWISE_DEFAULT_REGION", region)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    assert refused.value.errors()[0]["loc"] == ("default_region",)
    assert refused.value.errors()[0]["msg"] == (
        f"Value error, unknown phone region {region!r}, for example 'KR' or 'US'"
    )


def test_a_secret_key_is_generated_beside_the_sqlite_file_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    url = f"sqlite:///{data / 'funnelwise.db'}"

    first = Settings(database_url=url, _env_file=None).resolved_secret_key()

    secret_file = data / SECRET_FILE_NAME
    assert secret_file.read_text() == first
    assert len(first) == 64
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in data.iterdir()) == [SECRET_FILE_NAME]
    assert Settings(database_url=url, _env_file=None).resolved_secret_key() == first


def test_the_default_database_keeps_its_secret_in_the_working_directory(clean_environment: Path) -> None:
    settings = Settings(_env_file=None)

    secret = settings.resolved_secret_key()

    assert (clean_environment / SECRET_FILE_NAME).read_text() == secret
    assert settings.secret_key == secret


def test_an_in_memory_database_keeps_its_secret_in_the_working_directory(clean_environment: Path) -> None:
    secret = Settings(database_url="sqlite:///:memory:", _env_file=None).resolved_secret_key()

    assert (clean_environment / SECRET_FILE_NAME).read_text() == secret


def test_a_configured_secret_key_is_used_and_no_file_is_written(clean_environment: Path) -> None:
    settings = Settings(secret_key="configured", _env_file=None)

    assert settings.resolved_secret_key() == "configured"
    assert list(clean_environment.iterdir()) == []


def test_an_empty_secret_file_is_refused_not_used_as_a_key(clean_environment: Path) -> None:
    (clean_environment / SECRET_FILE_NAME).write_text("\n")

    with pytest.raises(SettingsError) as refused:
        Settings(_env_file=None).resolved_secret_key()
    assert str(refused.value) == (
        f"The secret key file {clean_environment / SECRET_FILE_NAME} is empty: delete it to have a new key "
        "generated, or set FUNNELWISE_SECRET_KEY."
    )


@pytest.mark.parametrize("secret_key", [None, ""])
def test_postgresql_without_a_secret_key_is_refused_naming_the_variable(
    clean_environment: Path, secret_key: str | None
) -> None:
    settings = Settings(
        database_url="postgresql+psycopg://fw@db.internal/funnelwise", secret_key=secret_key, _env_file=None
    )

    with pytest.raises(SettingsError) as refused:
        settings.resolved_secret_key()
    assert str(refused.value) == (
        "Config 'FUNNELWISE_SECRET_KEY' is missing: set it to the same long random value "
        "on every server and worker that shares this database."
    )
    assert list(clean_environment.iterdir()) == []


def test_postgresql_with_a_secret_key_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUNNELWISE_DATABASE_URL", "postgresql+psycopg://fw@db.internal/funnelwise")
    monkeypatch.setenv("FUNNELWISE_SECRET_KEY", "shared-by-every-server")

    assert Settings(_env_file=None).resolved_secret_key() == "shared-by-every-server"


def test_the_secret_key_is_not_shown_in_the_settings_repr() -> None:
    assert "hunter2" not in repr(Settings(secret_key="hunter2", _env_file=None))
