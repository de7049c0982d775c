"""Settings from the environment (SHAREFAB_*), and the default-secret guard."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.core.settings import Settings


def test_settings__unset_is_embedded_sqlite(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL", "MQTT_URL"):
        monkeypatch.delenv(f"SHAREFAB_{name}", raising=False)
    monkeypatch.setenv("SHAREFAB_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.embedded
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.as_posix()}/sharefab.db"
    assert settings.max_body_bytes == 10 * 1024 * 1024


def test_settings__urls_from_environment(monkeypatch):
    monkeypatch.setenv("SHAREFAB_DATABASE_URL", "postgresql+psycopg://u:p@db:5432/sharefab")
    monkeypatch.setenv("SHAREFAB_REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("SHAREFAB_MQTT_URL", "mqtt://mosquitto:1883")
    settings = Settings()
    assert not settings.embedded
    assert settings.sqlalchemy_url == "postgresql+psycopg://u:p@db:5432/sharefab"
    assert (settings.redis_url, settings.mqtt_url) == ("redis://redis:6379/0",
                                                       "mqtt://mosquitto:1883")


def test_settings__default_secret_refused_in_production(monkeypatch):
    monkeypatch.delenv("SHAREFAB_SECRET_KEY", raising=False)
    monkeypatch.setenv("SHAREFAB_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="SHAREFAB_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("SHAREFAB_SECRET_KEY", "s3cret-from-the-vault-32-chars-long!")
    assert Settings().environment == "production"


def test_settings__short_secret_refused_outside_local(monkeypatch):
    monkeypatch.setenv("SHAREFAB_SECRET_KEY", "too-short")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production")
