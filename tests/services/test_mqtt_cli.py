"""The MQTT commands refuse a missing broker or Redis with a message naming the setting."""

from typer.testing import CliRunner

from cli import app


def test_gateway__without_broker_names_the_option(monkeypatch):
    monkeypatch.delenv("SHAREFAB_MQTT_URL", raising=False)
    from services.core.settings import get_settings
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["gateway", "--park", "P1", "--no-from-db"])
    assert result.exit_code != 0
    assert "--mqtt-url" in result.output


def test_worker_ingest__without_redis_names_the_setting(monkeypatch):
    monkeypatch.setenv("SHAREFAB_MQTT_URL", "mqtt://127.0.0.1:1")
    monkeypatch.delenv("SHAREFAB_REDIS_URL", raising=False)
    from services.core.settings import get_settings
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["worker", "ingest"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "SHAREFAB_REDIS_URL" in str(result.exception) + result.output
