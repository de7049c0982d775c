"""``sharefab serve``: a busy port stops it before anything starts; the banner names the broker."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest
from typer.testing import CliRunner

import cli  # registers the command modules on the app
from cli.apps import app
from cli.preflight import port_problem

_ = cli


@pytest.fixture
def clean_settings(monkeypatch, tmp_path):
    import os

    from services.core.settings import get_settings
    for name in list(os.environ):
        if name.startswith("SHAREFAB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SHAREFAB_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def started(monkeypatch) -> list[Any]:
    """Record what serve would start, start nothing."""
    calls: list[Any] = []
    import uvicorn

    import services.api.app as app_module
    monkeypatch.setattr(app_module, "create_app",
                        lambda settings, demo=False: calls.append(("app", settings, demo)))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append(("uvicorn", a, k)))
    return calls


def test_serve__busy_port_exits_1_before_starting_anything(clean_settings, started):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert port_problem("127.0.0.1", port) is not None
        result = CliRunner().invoke(app, ["serve", "--demo", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "PORT=" in result.output
    assert started == []  # no app, no demo park, no gateways


def test_serve__banner_prints_the_embedded_broker_url(clean_settings, started):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(app, ["serve", "--port", str(port)])
    assert result.exit_code == 0, result.output
    found = re.search(r"mqtt://127\.0\.0\.1:(\d+)", result.output)
    assert found, result.output
    (_, settings, _demo), _uvicorn = started
    assert settings.mqtt_embedded_port == int(found.group(1))
