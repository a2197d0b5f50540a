"""Settings: the one place configuration is read, from the environment and an optional `.env`."""

import os
import secrets
from datetime import time
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
    # How many due messages one sender batch claims, and how many provider calls run at once.
    send_batch_size: int = Field(default=500, ge=1, le=10_000)
    send_concurrency: int = Field(default=10, ge=1, le=500)
    # A batch still `sending` this long after it was claimed was abandoned by a worker that died.
    send_lease_seconds: int = Field(default=600, ge=1)
    # The same template to the same contact within this many hours is suppressed (0: off).
    dedupe_hours: int = Field(default=24, ge=0)
    # Caps on advertising messages per contact across channels, in any 24 hours / 7 days.
    cap_advertising_per_day: int | None = Field(default=None, ge=0)
    cap_advertising_per_week: int | None = Field(default=None, ge=0)
    # Advertising waits out these local hours, e.g. "22:00-09:00" (the law's 21:00 to 08:00 night
    # rule for SMS, Kakao and push applies regardless).
    quiet_hours: str | None = None

    # --- Messaging: email (SMTP pool, DKIM, bounce webhooks) ---
    # Connections to the SMTP server kept open and reused by the sender.
    smtp_pool_size: int = Field(default=4, ge=1, le=100)
    # At most this many emails a second (a provider's sending limit); unset: as fast as it takes them.
    smtp_rate_per_second: float | None = Field(default=None, gt=0)
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    # The envelope sender (MAIL FROM), where DSN bounce mail goes; unset: the address of mail_from.
    mail_return_path: str | None = None
    # DKIM signing, on when a key (PEM text or a path to a PEM file) and a selector are set; the
    # domain defaults to mail_from's.
    dkim_private_key: str | None = Field(default=None, repr=False)
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    # Open pixel and click tracking in email HTML.
    email_track_opens: bool = True
    email_track_clicks: bool = True
    # Bounce and complaint webhooks (/hooks/email/{provider}?token=...) answer 403 while this is unset.
    email_webhook_token: str | None = Field(default=None, repr=False)

    # --- Messaging: SMS, KakaoTalk, push and generic HTTP providers ---
    # Solapi (SMS/LMS, Kakao AlimTalk and brand messages): on when the key and secret are set.
    solapi_api_key: str | None = None
    solapi_api_secret: str | None = Field(default=None, repr=False)
    solapi_base_url: str = "https://api.solapi.com"
    # The registered sender number of SMS/LMS and of Kakao messages, digits only: "0212345678".
    sms_from: str | None = None
    # The Kakao business channel (pfId) AlimTalk and brand messages are sent from.
    solapi_kakao_pf_id: str | None = None
    # Brand-message targeting: "I" (the channel's friends) is the only one Kakao allows unlicensed.
    solapi_bms_targeting: Literal["I", "M", "N"] = "I"
    # FCM HTTP v1 (mobile and web push): the service account's JSON key, as a file or inline.
    fcm_service_account_file: Path | None = None
    fcm_service_account_json: str | None = Field(default=None, repr=False)
    fcm_base_url: str = "https://fcm.googleapis.com"
    # The generic HTTP JSON adapter: POSTs each message of the listed channels to this URL.
    generic_http_url: str | None = None
    generic_http_headers: dict[str, str] = Field(default_factory=dict, repr=False)
    generic_http_channels: str = ""
    # Signs `webhook` channel messages (Funnelwise-Signature) when the template names no secret.
    webhook_channel_secret: str | None = Field(default=None, repr=False)
    # The `?token=` that delivery reports (POST /hooks/solapi, /hooks/generic) must carry; unset,
    # the report endpoints refuse every call.
    provider_webhook_token: str | None = Field(default=None, repr=False)

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
    # Send-time optimisation: a contact's best hour comes from their opens and clicks of this many
    # days, once they have at least this many; before that the population's, or this default hour.
    send_time_lookback_days: int = Field(default=180, ge=1)
    send_time_min_events: int = Field(default=3, ge=1)
    send_time_default_hour: int = Field(default=10, ge=0, le=23)
    # A broadcast writes its outbox rows this many contacts per transaction; a crash resumes there.
    broadcast_chunk_size: int = Field(default=10_000, ge=1)
    # A broadcast left `sending` this long without progress (its process died) is resumed.
    broadcast_stale_minutes: int = Field(default=5, ge=1)
    # A broadcast's conversions: its conversion event within this many days after a message.
    broadcast_conversion_days: int = Field(default=7, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}, for example 'Asia/Seoul'") from exc
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_window(cls, value: str | None) -> str | None:
        if not value:
            return None
        start, dash, end = value.partition("-")
        try:
            if not dash or time.fromisoformat(start.strip()) == time.fromisoformat(end.strip()):
                raise ValueError
        except ValueError:
            raise ValueError(
                f"quiet hours {value!r} must be two different times, e.g. '22:00-09:00'"
            ) from None
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
