"""One settings object, read from ``GROVE_*`` environment variables (and ``.env``)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    # XDG-style location so the embedded database survives `git clean`; override with
    # GROVE_DATA_DIR (make run points it at ./.grove for a self-contained checkout).
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "grove-jobs"


class Settings(BaseSettings):
    """Runtime configuration. Loaded once per entry point and passed down."""

    # hide_input_in_errors: a refused value (an alert URL, a database URL) may hold a secret.
    model_config = SettingsConfigDict(
        env_prefix="GROVE_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None  # default: sqlite file <data_dir>/grove.db

    # Sidecar
    workers: int = Field(default=4, ge=1, le=256)
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    tick_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    heartbeat_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Bounds clock skew and the time a worker needs to stop; None: min(5 s, lease / 3).
    lease_margin_seconds: float | None = Field(default=None, ge=0, le=3600)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=3600)
    # Claim short runs ahead of free slots (scheduler.claiming); off: a run reads "running"
    # only once a worker has it.
    claim_ahead: bool = True
    prune_interval_seconds: float = Field(default=60.0, gt=0, le=86400)

    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8765, ge=0, le=65535)
    api_enabled: bool = True
    trigger_rate_per_minute: int = Field(default=60, ge=1)

    # Notifications
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "grove-jobs@localhost"
    smtp_starttls: bool = False  # STARTTLS even without credentials
    # Credentials go over STARTTLS (or SMTPS on 465); only this sends them in clear text.
    smtp_allow_plaintext: bool = False
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None  # signs webhook bodies (X-Grove-Signature)
    alert_email_to: str | None = None  # alert mail goes here when SMTP is configured
    alert_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    # "name=apprise-url,...": the only place alert URLs live; configs name the entries.
    alert_urls: SecretStr | None = None
    dashboard_url: str | None = None  # links in alert messages point here

    @field_validator("alert_urls")
    @classmethod
    def _alert_urls_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from grove_jobs.alerts.targets import parse_alert_urls  # apprise loads lazily

            parse_alert_urls(value.get_secret_value())
        return value

    @field_validator("dashboard_url")
    @classmethod
    def _dashboard_url_http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    # Dashboard identity
    trusted_user_header: str | None = None  # e.g. X-Forwarded-Email, only behind a proxy
    local_user: str = "local@grove.invalid"
    # The role of a visitor without OIDC or a trusted header (they act as local_user). Viewer
    # unless said otherwise: `make run` says admin, for one person on their own machine.
    anonymous_role: Literal["viewer", "operator", "editor", "admin"] = "viewer"

    # Job types
    job_modules: str = ""  # GROVE_JOB_MODULES: comma-separated modules that register job types
    commands_file: Path | None = None  # the commands a ``command`` job may run (YAML)

    log_level: str = "INFO"

    @property
    def lease_margin(self) -> float:
        """GROVE_LEASE_MARGIN_SECONDS, or the smaller of 5 s and a third of the lease."""
        if self.lease_margin_seconds is not None:
            return self.lease_margin_seconds
        return min(5.0, self.lease_seconds / 3)

    @property
    def lease_budget(self) -> float:
        """How long a worker may run without a successful renewal: lease minus margin."""
        return self.lease_seconds - self.lease_margin

    @model_validator(mode="after")
    def _check_lease_timing(self) -> Settings:
        # A worker stops its handler (lease - margin) after the last renewal that succeeded;
        # three heartbeats must fit in that budget so one slow or lost renewal costs nothing.
        if self.lease_budget <= 0:
            raise ValueError(
                f"GROVE_LEASE_MARGIN_SECONDS ({self.lease_margin:g}) must be smaller than "
                f"GROVE_LEASE_SECONDS ({self.lease_seconds:g})"
            )
        if self.heartbeat_interval_seconds > self.lease_budget / 3:
            raise ValueError(
                f"GROVE_HEARTBEAT_INTERVAL_SECONDS ({self.heartbeat_interval_seconds:g}) must be "
                f"at most (GROVE_LEASE_SECONDS - GROVE_LEASE_MARGIN_SECONDS) / 3 = "
                f"({self.lease_seconds:g} - {self.lease_margin:g}) / 3 = "
                f"{self.lease_budget / 3:g}"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file inside ``data_dir``."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite:///{self.data_dir / 'grove.db'}"


def normalize_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` and ``postgresql://`` spellings; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; keyword overrides win (CLI flags, tests).

    With ``GROVE_SECRETS_DIR`` (e.g. ``/run/secrets``), a file named like a variable in lower
    case (``grove_database_url``) supplies that setting, so secrets need not be in the
    environment.
    """
    secrets_dir = os.environ.get("GROVE_SECRETS_DIR")
    if secrets_dir and Path(secrets_dir).is_dir():
        overrides = {"_secrets_dir": secrets_dir, **overrides}
    return Settings(**overrides)  # type: ignore[arg-type]
