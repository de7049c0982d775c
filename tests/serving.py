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
    """Serve the demo from ``folder`` (its data in ``folder/var``); yields the base URL.

    A free port can be taken by another process (tests run on several workers) between
    ``free_port`` and the server's bind; the server then exits saying so, and a new port is
    tried (three times at most)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAREFAB_")}
    env["SHAREFAB_DATA_DIR"] = str(folder / "var")
    log_path = folder / "serve.log"
    for attempt in range(3):
        port = free_port()
        with log_path.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from cli import main; main()", "serve", "--demo",
                 "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                cwd=folder)
            base = f"http://127.0.0.1:{port}"
            try:
                if not _wait_healthy(base, proc, log_path, timeout_s, retry_taken=attempt < 2):
                    continue  # the port was taken before the server bound it
                yield base
                return
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()


PORT_TAKEN = "address already in use"


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path,
                  timeout_s: float, *, retry_taken: bool = False) -> bool:
    """True once ``base`` answers /healthz; False if the server exited because its port was
    taken (only with ``retry_taken``); any other exit fails the test with the log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log_path.read_text(encoding="utf-8")
            if retry_taken and PORT_TAKEN in text:
                return False
            raise AssertionError(text)
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the demo server did not answer /healthz within {timeout_s:.0f} s")
