"""``sharefab serve --workers N`` refuses the embedded mode; the Procfile names the shape."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import cli  # registers the command modules on the app
from cli.apps import app
from cli.serve_cmd import several_workers_refusal
from services.core.settings import Settings, get_settings

_ = cli
ROOT = Path(__file__).resolve().parents[2]


def test_several_workers__refused_in_the_embedded_mode_with_the_reason():
    why = several_workers_refusal(Settings(), demo=False)
    assert "single process" in why
    assert "SHAREFAB_DATABASE_URL" in why
    assert "SHAREFAB_REDIS_URL" in why
    assert "SHAREFAB_MQTT_URL" in why
    sqlite = Settings(database_url="sqlite:///x.db", redis_url="redis://127.0.0.1:6379/0",
                      mqtt_url="mqtt://127.0.0.1:1883")
    assert "SQLite" in several_workers_refusal(sqlite, demo=False)


def test_several_workers__allowed_on_the_real_servers_but_not_with_the_demo():
    real = Settings(database_url="postgresql+psycopg://u@127.0.0.1/db",
                    redis_url="redis://127.0.0.1:6379/0", mqtt_url="mqtt://127.0.0.1:1883")
    assert several_workers_refusal(real, demo=False) == ""
    assert "--workers 1" in several_workers_refusal(real, demo=True)


def test_serve_cli__workers_2_embedded_exits_2_before_listening(monkeypatch):
    for name in ("SHAREFAB_DATABASE_URL", "SHAREFAB_REDIS_URL", "SHAREFAB_MQTT_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "single" in result.output


def test_procfile__runs_api_ingest_and_match_with_stable_ingest_ids():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert set(lines) == {"api", "ingest", "match"}
    assert "--workers" in lines["api"]
    assert "SHAREFAB_WORKER_ID=" in lines["ingest"]
    assert "prod:" in (ROOT / "Makefile").read_text()
