"""One typed place for every setting of the running processes (env prefix ``SHAREFAB_``).

Unset everything and the platform still runs embedded: a SQLite file under ``./var``, an in-process
Redis stand-in and an in-process MQTT broker (docs/operations.md). Production sets the three URLs to
the real servers (see docker-compose.yml).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
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
    # mqtt://[user:password@]host:port, or mqtts:// for TLS (port 8883 by default); unset: an
    # in-process amqtt broker. A park's secured Mosquitto (`sharefab mqtt acl`) needs both.
    mqtt_url: str | None = None
    # Port of that in-process broker (127.0.0.1); unset: `sharefab serve` picks a free one and
    # prints it in its banner (give it to `sharefab gateway --mqtt-url`).
    mqtt_embedded_port: int | None = Field(default=None, ge=1, le=65535)
    # Used when the URL carries no user (keeps the password out of the URL and process list).
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    # TLS: the CA that signed the broker's certificate (PEM; unset: the system trust store)
    # and, when the broker asks for client certificates, ours. Either file implies TLS.
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    data_dir: Path = Path("var")
    # Signs the login tokens of POST /auth/login (HS256); refused at its default outside local use.
    secret_key: str = _DEFAULT_SECRET
    # A login token is valid this long; API keys last until revoked.
    token_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    # Failed POST /auth/login attempts allowed per account (e-mail) and per client address
    # within login_failure_window_s; past either, 429 with Retry-After.
    login_failures_per_account: int = Field(default=10, ge=1)
    login_failures_per_address: int = Field(default=100, ge=1)
    login_failure_window_s: float = Field(default=900.0, gt=0)

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
    # A quote's solver time (shared by its three alternatives) and the resources per step its
    # CP-SAT models keep (greedy and the factory-layout search look at 4x as many): chosen
    # from the measured curve of `sharefab bench quote` (BENCHMARKS.md, bench/quote.py).
    # One value for every market size: at 100,000 resources 4 candidates per step left one
    # order of five at 1.48x the 30 s solve, 6 and 8 reach 0.98x for about the same CPU; at
    # 10,000 the candidates change neither quality nor CPU measurably, so no size rule.
    quote_default_time_limit_s: float = Field(default=0.05, gt=0)
    quote_candidates_per_step: int = Field(default=6, ge=1, le=200)
    quote_max_time_limit_s: float = Field(default=60.0, gt=0)
    # The API keeps the market's resources and calendars in memory between quotes
    # (services.scenario.market_cache), read again after any process's market write (the
    # market_version row); SQL bypassing the application is seen after this long. 0: no copy.
    quote_market_cache_s: float = Field(default=600.0, ge=0)
    # Solves running at once in the API (each uses its own CP-SAT workers).
    quote_concurrency: int = Field(default=2, ge=1)
    # An offered quote may be accepted for this long; after that, ask for a new one.
    quote_ttl_s: int = Field(default=30 * 60, ge=1)
    dashboard_refresh_s: int = Field(default=5, ge=1)
    # Simulations launched from the web (POST /simulations): runs at once in one API process,
    # and runs waiting before a new one is refused (429).
    simulation_workers: int = Field(default=1, ge=1, le=8)
    simulation_queue: int = Field(default=8, ge=1, le=100)
    # Housekeeping thread in the API: webhook deliveries and the quote-expiry sweep; set
    # false where `sharefab worker webhooks` processes do it instead.
    housekeeping_in_process: bool = True
    housekeeping_poll_s: float = Field(default=1.0, gt=0)
    # Webhook deliveries: attempts before a delivery is given up, first retry delay (doubling
    # each time, at most an hour), seconds a receiver may take to answer.
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_s: float = Field(default=2.0, gt=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    # Webhook URLs must resolve to public addresses only (no loopback, link-local, private,
    # multicast or unspecified target: server-side request forgery); true lets them reach
    # this machine and its network (tests, demos with a local receiver).
    webhook_allow_private: bool = False

    # Faults fail fast (issue 12): every Redis call gives up after redis_timeout_s; a request
    # waits at most db_pool_timeout_s for a pooled connection, and PostgreSQL cancels a
    # statement after db_statement_timeout_ms. Either answers 503 + Retry-After.
    redis_timeout_s: float = Field(default=1.0, gt=0)
    # After a Redis timeout / connection error, Redis-needing requests answer 503 at once for
    # this long (the circuit breaker, services/live/breaker.py); then one probe PINGs Redis.
    redis_breaker_s: float = Field(default=3.0, gt=0)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=10_000, ge=0)
    # Workers refresh a heartbeat key this often / 3; /readyz counts the live ones.
    worker_heartbeat_ttl_s: float = Field(default=15.0, gt=0)
    # A stable id for an ingest worker (with its host name): its MQTT session then outlives a
    # restart and gets back what it held unacknowledged. Empty: a new session per process.
    worker_id: str = Field(default="", max_length=40)
    # A `sharefab worker` process serves its own /metrics on 127.0.0.1 at this port (0: off).
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    # ... on this address: 0.0.0.0 in a container, so Prometheus in another one can scrape it.
    worker_metrics_host: str = Field(default="127.0.0.1", max_length=64)
    # Matcher lease: a request pending this long without renewal is taken over; after
    # match_max_attempts take-overs it goes to the dead-letter stream.
    match_claim_idle_s: float = Field(default=15.0, gt=0)
    match_max_attempts: int = Field(default=3, ge=1)
    # Back-pressure: quotes solved or waiting at once, overall and per tenant, and queued
    # (wait=false) requests not yet answered; past each, 429 with Retry-After.
    quote_queue_max: int = Field(default=8, ge=1)
    quote_tenant_max: int = Field(default=2, ge=1)
    match_queue_max: int = Field(default=1000, ge=1)
    # Requests per second per tenant (API key / client) with a burst of rate_limit_burst;
    # 0 switches the limiter off.
    rate_limit_per_s: float = Field(default=100.0, ge=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # Seconds the API keeps an idle HTTP connection open (uvicorn's keep-alive, 5 s by
    # default). It must outlast the idle time of the clients and proxies that reuse
    # connections: else the server closes one just as a client sends on it, and that request
    # gets no answer at all (the load bench's "status 0" failures under load).
    http_keep_alive_s: int = Field(default=75, ge=1, le=3600)

    # Shop floor (issue 11). A lot still running this long past its booked end is overrunning
    # (its order is repaired); a resource unheard-of this long is treated as down.
    overrun_grace_s: float = Field(default=600.0, gt=0)
    offline_grace_s: float = Field(default=300.0, gt=0)
    # One accelerated simulated clock for every process (services.core.clock): now = epoch +
    # (wall - epoch) * speed. Demos and end-to-end tests only; unset: the wall clock.
    clock_epoch: datetime | None = None
    clock_speed: float = Field(default=1.0, gt=0, le=1_000_000)

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
        if self.environment not in ("local", "test") and len(self.secret_key) < 32:
            # HS256 wants a key at least as long as its hash (RFC 7518 3.2).
            raise ValueError("SHAREFAB_SECRET_KEY must be at least 32 characters outside "
                             "local use (it signs the login tokens)")
        if self.quote_default_time_limit_s > self.quote_max_time_limit_s:
            raise ValueError("quote_default_time_limit_s exceeds quote_max_time_limit_s")
        if self.clock_speed != 1.0 and self.clock_epoch is None:
            raise ValueError("SHAREFAB_CLOCK_SPEED needs SHAREFAB_CLOCK_EPOCH (one epoch for "
                             "every process, or each runs on its own time)")
        if self.clock_epoch is not None and self.clock_epoch.tzinfo is None:
            raise ValueError("SHAREFAB_CLOCK_EPOCH needs a time zone, e.g. 2026-01-01T08:00:00Z")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
