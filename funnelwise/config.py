"""Settings: the one place configuration is read, from the environment and an optional `.env`."""

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE_NAME = ".funnelwise-secret"


class SettingsError(ValueError):
    """A setting is missing or unsafe."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUNNELWISE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./funnelwise.db"
    secret_key: str | None = Field(default=None, repr=False)
    timezone: str = "Asia/Seoul"
    default_region: str = "KR"
    auto_create_companies: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    # Where people reach this server: links in emails and form embeds are built on it.
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    mail_from: str = "Funnelwise <no-reply@localhost>"
    # `funnelwise serve` also runs the background worker; off for API-only servers on PostgreSQL
    # whose work `funnelwise worker` processes do.
    run_worker: bool = True
    # How often the worker re-decides each segment for every contact, for conditions that change
    # with time alone (sliding windows, anniversaries); events and edits are reacted to at once.
    segment_refresh_minutes: int = Field(default=60, ge=1)
    # Webhooks to private, loopback and link-local addresses are refused unless this is on: a
    # webhook URL must not reach into the network Funnelwise runs in.
    webhook_allow_private: bool = False

    # --- Messaging: the sender, caps and timing ---

    # --- Messaging: email (SMTP pool, DKIM, bounce webhooks) ---

    # --- Messaging: SMS, KakaoTalk, push and generic HTTP providers ---

    # --- Messaging: consent and the advertising law ---
    # The topics a contact subscribes to per channel; "night" (night-time advertising) is reserved.
    consent_topics: list[str] = ["newsletter", "product_news", "promotions"]
    # How the preference page and notices name a topic, when not by its built-in label.
    consent_topic_labels: dict[str, str] = {}
    # Topics whose consents carry no advertising: no two-yearly reconfirmation, no result notices.
    informational_topics: list[str] = []
    # The sender's name and contact (phone, address) the law asks in every advertising message.
    sender_name: str | None = None
    sender_contact: str | None = None
    # The free opt-out number advertising SMS must carry ("무료수신거부 080-…"); none → no ad SMS.
    sms_optout_number: str | None = None
    # How to stop Kakao brand messages and advertising push notifications.
    kakao_optout_instruction: str = "채널 차단"
    push_optout_instruction: str = "앱 설정 > 알림"
    # Notify the person of the result when they opt in to or out of advertising (the law's 14 days).
    consent_result_notices: bool = True

    # --- Messaging: broadcasts ---

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}, for example 'Asia/Seoul'") from exc
        return value

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown phone region {value!r}, for example 'KR' or 'US'")
        return region

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolved_secret_key(self) -> str:
        """The secret key; on the embedded SQLite default one is generated and kept beside the DB."""
        if self.secret_key:
            return self.secret_key
        if not self.is_sqlite:
            raise SettingsError(
                "Config 'FUNNELWISE_SECRET_KEY' is missing: set it to the same long random value "
                "on every server and worker that shares this database."
            )
        path = self._secret_file()
        if not path.exists():
            _create_secret_file(path)
        secret = path.read_text().strip()
        if not secret:
            raise SettingsError(
                f"The secret key file {path} is empty: delete it to have a new key generated, "
                "or set FUNNELWISE_SECRET_KEY."
            )
        self.secret_key = secret
        return secret

    def _secret_file(self) -> Path:
        database = self.database_url.split("///", 1)[-1]
        if not database or database == ":memory:":
            return Path.cwd() / SECRET_FILE_NAME
        return Path(database).resolve().parent / SECRET_FILE_NAME


def _create_secret_file(path: Path) -> None:
    """Writes a new random key readable by its owner only; if another process wrote one first, it wins."""
    # Written in full under a private name, then linked into place: nobody ever reads a
    # half-written or world-readable key, and two servers starting at once agree on one key.
    draft = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
