"""``sharefab serve``: the command line, and a real start with the demo park (as `make run`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import cli  # registers the command modules on the app
from cli.apps import app

_ = cli


def test_serve__help_lists_host_port_demo():
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--demo"):
        assert option in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve__demo_serves_dashboard_and_api_within_60_s(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    env["SHAREFAB_DATA_DIR"] = str(tmp_path / "var")
    exe = Path(sys.executable).with_name("sharefab")
    log = (tmp_path / "serve.log").open("w")  # a file, not a pipe: a full pipe would block it
    proc = subprocess.Popen([str(exe), "serve", "--demo", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, page = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                page = httpx.get(base + "/", timeout=2, follow_redirects=True)  # / -> /app
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert page is not None, f"not serving within 60 s (exit code {proc.poll()})"
        assert page.status_code == 200
        assert httpx.get(base + "/factories").status_code == 401  # no key, no market
        tokens = _demo_tokens(tmp_path / "var" / "demo-tokens.txt")
        assert {"platform", "sme", "factory", "park", "analyst"} <= set(tokens)
        admin = {"Authorization": f"Bearer {tokens['platform']}"}
        assert len(httpx.get(base + "/factories", headers=admin).json()) >= 20
        assert len(httpx.get(base + "/resources", headers=admin).json()) >= 100
        sme = {"Authorization": f"Bearer {tokens['sme']}"}
        assert [o["id"] for o in httpx.get(base + "/orders", headers=sme).json()] == [
            "DEMO-O1", "DEMO-O2"]
        assert "sharefab_resources" in httpx.get(base + "/metrics").text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    assert f"{base}/docs" in (tmp_path / "serve.log").read_text()


def _demo_tokens(path: Path) -> dict[str, str]:
    """The first token of each organisation kind in the demo's token file."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            _org, kind, _role, token = line.split()
            out.setdefault(kind, token)
    return out


def test_serve__keeps_idle_connections_open_as_configured(monkeypatch, tmp_path, request):
    """uvicorn closes an idle connection after 5 s by default; a client (or the load bench's
    Locust) that sends on it just then gets no answer. ``sharefab serve`` passes
    SHAREFAB_HTTP_KEEP_ALIVE_S, in one process and with --workers N."""
    import uvicorn

    import services.api.app as api_app

    request.addfinalizer(_fresh_settings)  # the next test reads its own environment
    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.setattr(api_app, "create_app", lambda settings, demo=False: object())
    monkeypatch.setenv("SHAREFAB_HTTP_KEEP_ALIVE_S", "42")
    monkeypatch.setenv("SHAREFAB_DATABASE_URL", f"sqlite:///{tmp_path / 'k.db'}")
    _fresh_settings()
    result = CliRunner().invoke(app, ["serve", "--port", str(_free_port())])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    assert calls[0]["timeout_keep_alive"] == 42

    argv: list[list[str]] = []
    monkeypatch.setattr(os, "execv", lambda exe, args: argv.append(list(args)))
    monkeypatch.setenv("SHAREFAB_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1:1/x")
    monkeypatch.setenv("SHAREFAB_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("SHAREFAB_MQTT_URL", "mqtt://127.0.0.1:1")
    _fresh_settings()
    result = CliRunner().invoke(app, ["serve", "--port", str(_free_port()), "--workers", "2"])
    assert argv, result.output
    assert argv[0][argv[0].index("--timeout-keep-alive") + 1] == "42"


def _fresh_settings() -> None:
    from services.core.settings import get_settings

    clear = getattr(get_settings, "cache_clear", None)
    if clear is not None:
        clear()
