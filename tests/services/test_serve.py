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
