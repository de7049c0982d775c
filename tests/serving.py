"""A real ``sharefab serve --demo`` in a subprocess, for tests that drive it over HTTP.

The tutorial test and the browser tests both need one: a free port, SQLite and the embedded
broker in a folder of the test's own, the log in a file (a full pipe would block the server),
ready once /healthz answers, stopped with SIGINT as a user's Ctrl-C would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_server(folder: Path, *, timeout_s: float = 120.0) -> Iterator[str]:
    """Serve the demo from ``folder`` (its data in ``folder/var``); yields the base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    env["SHAREFAB_DATA_DIR"] = str(folder / "var")
    log_path = folder / "serve.log"
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from cli import main; main()", "serve", "--demo",
             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, proc, log_path, timeout_s)
            yield base
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path,
                  timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log_path.read_text(encoding="utf-8")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the demo server did not answer /healthz within {timeout_s:.0f} s")
