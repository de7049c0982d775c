"""One typed place for every setting of the running processes (env prefix ``SHAREFAB_``).

Unset everything and the platform still runs embedded: a SQLite file under ``./var``, an
in-process Redis stand-in and an in-process MQTT broker (DESIGN 5). Production sets the three
URLs to the real servers (see docker-compose.yml).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEFAULT_SECRET = "change-me"


class Settings(BaseSettings):
    """Settings of the API and the workers; every field reads ``SHAREFAB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SHAREFAB_", extra="ignore")

    # "local" is the embedded developer mode; anything else is a deployment.
    environment: Literal["local", "test", "staging", "production"] = "local"
    # SQLAlchemy URL; unset: a SQLite file under data_dir.
    database_url: str | None = None
    # redis://host:port/db; unset: an in-process fakeredis stand-in.
    redis_url: str | None = None
    # mqtt://host:port; unset: an in-process amqtt broker.
    mqtt_url: str | None = None
    # Port of that in-process broker (127.0.0.1); unset: `sharefab serve` picks a free one and
    # prints it in its banner (give it to `sharefab gateway --mqtt-url`).
    mqtt_embedded_port: int | None = Field(default=None, ge=1, le=65535)
    data_dir: Path = Path("var")
    # Signs nothing yet: the hook for session/API tokens, refused at its default outside local use.
    secret_key: str = _DEFAULT_SECRET

    # Upgrade the schema to the newest Alembic revision when the app starts.
    migrate_on_start: bool = True
    # Start the MQTT runtime (broker when mqtt_url is unset, work-order dispatch) in the API.
    mqtt_enabled: bool = True
    # Also run the MQTT ingest inside the API; production sets false and runs
    # `sharefab worker ingest` processes (shared subscription group mqtt_share_group).
    mqtt_in_process: bool = True
    # Live state, job streams and MQTT ingest: Redis key prefix, heartbeat TTL (a resource
    # not heard from for this long reads offline), MQTT 5 shared-subscription group.
    redis_key_prefix: str = "sharefab:"
    heartbeat_ttl_s: int = Field(default=30, ge=1)
    mqtt_share_group: str = Field(default="ingest", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    # Run a matcher thread inside the API for POST /orders/{id}/quotes?wait=false; production
    # sets false and runs `sharefab worker match` processes on the Redis stream instead.
    match_in_process: bool = True
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    quote_default_time_limit_s: float = Field(default=5.0, gt=0)
    quote_max_time_limit_s: float = Field(default=60.0, gt=0)
    # Solves running at once in the API (each uses its own CP-SAT workers).
    quote_concurrency: int = Field(default=2, ge=1)
    # An offered quote may be accepted for this long; after that, ask for a new one.
    quote_ttl_s: int = Field(default=30 * 60, ge=1)
    dashboard_refresh_s: int = Field(default=5, ge=1)
    # Housekeeping thread in the API: webhook deliveries and the quote-expiry sweep; set
    # false where `sharefab worker webhooks` processes do it instead.
    housekeeping_in_process: bool = True
    housekeeping_poll_s: float = Field(default=1.0, gt=0)
    # Webhook deliveries: attempts before a delivery is given up, first retry delay (doubling
    # each time, at most an hour), seconds a receiver may take to answer.
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_s: float = Field(default=2.0, gt=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL actually used: the configured one or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sharefab.db').as_posix()}"

    @property
    def embedded(self) -> bool:
        """True when no outside server is configured (the `make run` mode)."""
        return not (self.database_url or self.redis_url or self.mqtt_url)

    @model_validator(mode="after")
    def _no_default_secret_outside_local(self) -> Self:
        if self.environment not in ("local", "test") and self.secret_key == _DEFAULT_SECRET:
            raise ValueError(
                f"SHAREFAB_SECRET_KEY is still the default while SHAREFAB_ENVIRONMENT="
                f"{self.environment}; set a real secret"
            )
        if self.quote_default_time_limit_s > self.quote_max_time_limit_s:
            raise ValueError("quote_default_time_limit_s exceeds quote_max_time_limit_s")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
