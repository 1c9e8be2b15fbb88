"""One validated settings object, read from the environment with the same names in every mode."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every knob of the platform. Variable names are documented in the README."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    env: Literal["development", "test", "production"] = Field(
        "development", validation_alias=_env("ODDSMITH_ENV")
    )
    data_dir: Path = Field(Path(".data"), validation_alias=_env("ODDSMITH_DATA_DIR"))
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5433/oddsmith", validation_alias=_env("DATABASE_URL")
    )
    database_pool_size: int = Field(20, validation_alias=_env("DATABASE_POOL_SIZE"))
    auth_cache_seconds: float = Field(1.0, ge=0, validation_alias=_env("AUTH_CACHE_SECONDS"))

    temporal_address: str = Field("127.0.0.1:7233", validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field("default", validation_alias=_env("TEMPORAL_NAMESPACE"))
    temporal_ui_port: int = Field(8233, validation_alias=_env("TEMPORAL_UI_PORT"))
    # Prefix for task queues, so a test run never takes work from a running dev stack.
    task_queue_prefix: str = Field("", validation_alias=_env("TASK_QUEUE_PREFIX"))

    api_host: str = Field("127.0.0.1", validation_alias=_env("API_HOST"))
    api_port: int = Field(8000, validation_alias=_env("API_PORT"))
    cors_origins: list[str] = Field(default_factory=list, validation_alias=_env("CORS_ORIGINS"))

    jwt_secret: str = Field(DEFAULT_JWT_SECRET, validation_alias=_env("JWT_SECRET"))
    jwt_ttl_seconds: int = Field(3600, validation_alias=_env("JWT_TTL_SECONDS"))

    admin_email: str | None = Field(None, validation_alias=_env("ODDSMITH_ADMIN_EMAIL"))
    admin_password: str | None = Field(None, validation_alias=_env("ODDSMITH_ADMIN_PASSWORD"))

    # Markets continue-as-new after this many history events (0: when Temporal suggests it).
    market_rollover_events: int = Field(0, validation_alias=_env("MARKET_ROLLOVER_EVENTS"))
    # How long the API waits for a market's workflow to answer before a 503 (never a hang).
    market_update_timeout_seconds: float = Field(
        15.0, validation_alias=_env("MARKET_UPDATE_TIMEOUT_SECONDS")
    )
    # Updates one API process keeps in flight to one market; orders beyond wait and go
    # together as one update (api/order_groups.py).
    order_updates_in_flight_per_market: int = Field(
        1, ge=1, validation_alias=_env("ORDER_UPDATES_IN_FLIGHT_PER_MARKET")
    )
    # How long an order to a busy market (api/order_groups.py BUSY_WITHIN) waits for company
    # when nothing is in flight to it; a quiet market's order goes at once.
    order_group_gather_ms: float = Field(10.0, ge=0, validation_alias=_env("ORDER_GROUP_GATHER_MS"))

    # How often the ledger reconciliation schedule runs.
    reconciliation_interval_seconds: int = Field(
        60, validation_alias=_env("RECONCILIATION_INTERVAL_SECONDS")
    )

    seed_demo_data: bool = Field(True, validation_alias=_env("ODDSMITH_SEED_DEMO"))

    # Per-user token buckets (in-process: each API replica keeps its own). High by default so
    # tests and benchmarks are not throttled; a bucket holds `burst` tokens.
    rate_limit_reads_per_second: float = Field(
        1000.0, validation_alias=_env("RATE_LIMIT_READS_PER_SECOND")
    )
    rate_limit_reads_burst: int = Field(2000, validation_alias=_env("RATE_LIMIT_READS_BURST"))
    rate_limit_writes_per_second: float = Field(
        500.0, validation_alias=_env("RATE_LIMIT_WRITES_PER_SECOND")
    )
    rate_limit_writes_burst: int = Field(1000, validation_alias=_env("RATE_LIMIT_WRITES_BURST"))

    # Deposits and withdrawals: limits in dollars (decimal strings, at most 2 decimals).
    deposit_min_amount: str = Field("1.00", validation_alias=_env("DEPOSIT_MIN_AMOUNT"))
    deposit_max_amount: str = Field("10000.00", validation_alias=_env("DEPOSIT_MAX_AMOUNT"))
    withdrawal_min_amount: str = Field("1.00", validation_alias=_env("WITHDRAWAL_MIN_AMOUNT"))
    withdrawal_max_amount: str = Field("10000.00", validation_alias=_env("WITHDRAWAL_MAX_AMOUNT"))
    # How long a deposit/withdrawal workflow waits for the gateway's confirmation.
    payments_confirmation_timeout_seconds: float = Field(
        900.0, validation_alias=_env("PAYMENTS_CONFIRMATION_TIMEOUT_SECONDS")
    )
    # The sandbox gateway: confirmation delay, which cents decline / never confirm, and where
    # it sends its callbacks (empty: it signals the workflow directly, as the callback would).
    payments_sandbox_delay_seconds: float = Field(
        1.0, validation_alias=_env("PAYMENTS_SANDBOX_DELAY_SECONDS")
    )
    payments_sandbox_decline_cents: int = Field(
        13, validation_alias=_env("PAYMENTS_SANDBOX_DECLINE_CENTS")
    )
    payments_sandbox_silent_cents: int = Field(
        14, validation_alias=_env("PAYMENTS_SANDBOX_SILENT_CENTS")
    )
    payments_sandbox_callback_url: str = Field(
        "", validation_alias=_env("PAYMENTS_SANDBOX_CALLBACK_URL")
    )

    # Price streaming (SSE): heartbeat comments, how many undelivered messages a client may
    # fall behind before its stream is closed (it resumes with Last-Event-ID), and the
    # significant-move rule (a YES-price change of at least the threshold, in dollars, within
    # the window).
    stream_heartbeat_seconds: float = Field(15.0, validation_alias=_env("STREAM_HEARTBEAT_SECONDS"))
    stream_client_queue_size: int = Field(2000, validation_alias=_env("STREAM_CLIENT_QUEUE_SIZE"))
    significant_move_threshold: str = Field(
        "0.10", validation_alias=_env("SIGNIFICANT_MOVE_THRESHOLD")
    )
    significant_move_window_seconds: float = Field(
        300.0, validation_alias=_env("SIGNIFICANT_MOVE_WINDOW_SECONDS")
    )

    # Notifications: the SMTP server mail goes to (empty host: email is off; `oddsmith dev`
    # runs a local sink), the sender, and webhook retries (attempts per delivery with
    # exponential backoff from the first interval) and the consecutive failed deliveries
    # after which a webhook is disabled.
    smtp_host: str = Field("", validation_alias=_env("SMTP_HOST"))
    smtp_port: int = Field(1025, validation_alias=_env("SMTP_PORT"))
    smtp_username: str = Field("", validation_alias=_env("SMTP_USERNAME"))
    smtp_password: str = Field("", validation_alias=_env("SMTP_PASSWORD"))
    smtp_starttls: bool = Field(False, validation_alias=_env("SMTP_STARTTLS"))
    mail_from: str = Field("Oddsmith <noreply@oddsmith.local>", validation_alias=_env("MAIL_FROM"))
    webhook_attempts: int = Field(5, validation_alias=_env("WEBHOOK_ATTEMPTS"))
    webhook_backoff_seconds: float = Field(1.0, validation_alias=_env("WEBHOOK_BACKOFF_SECONDS"))
    webhook_max_failures: int = Field(3, validation_alias=_env("WEBHOOK_MAX_FAILURES"))

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Settings:
        if self.env == "production" and self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ValueError("JWT_SECRET must be set to a secret value outside development")
        if self.env == "production" and len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters in production")
        return self

    @property
    def async_database_url(self) -> str:
        """The SQLAlchemy URL for the asyncpg driver, from a plain postgresql:// URL."""
        url = self.database_url
        for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url!r}")

    @property
    def asyncpg_dsn(self) -> str:
        """The URL for asyncpg itself (LISTEN/NOTIFY needs a raw connection)."""
        return "postgresql://" + self.async_database_url.split("://", 1)[1]


@lru_cache
def get_settings() -> Settings:
    return Settings()
