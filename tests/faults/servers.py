"""Servers a fault test owns: its own redis-server / mosquitto on a free port, to kill or stall.

Killing or SIGSTOPping the shared servers would break the other tests running beside it, so each
fault test starts its own. With CI=true a missing binary fails the test, elsewhere it skips.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.broker import free_port
from tests.conftest import IN_CI


def binary(name: str, fallback: str) -> str:
    """The server binary's path; fail under CI, skip elsewhere when it is missing."""
    path = shutil.which(name) or fallback
    if not os.access(path, os.X_OK):
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: a missing server is a failure)")
        pytest.skip(message)
    return path


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0,
             step_s: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class OwnServer:
    """One server process on a fixed free port: start, kill -9, stall (SIGSTOP), resume."""

    def __init__(self, argv: list[str], port: int) -> None:
        self.argv, self.port = argv, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        assert wait_for(lambda: listening(self.port), 10), f"{self.argv[0]} did not start"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stall(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def own_redis() -> OwnServer:
    port = free_port()
    return OwnServer([binary("redis-server", "/usr/bin/redis-server"), "--port", str(port),
                      "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], port)


def own_mosquitto(workdir: Path) -> OwnServer:
    """A mosquitto that persists sessions (saved on every change) and queues generously.

    ``user``: started as root, mosquitto drops to the user ``mosquitto``, which cannot write
    pytest's tmp directory (mode 0700): persistence then fails silently (an error on stderr)
    and a restart forgets every session. Running as the owner of ``workdir`` keeps it.
    """
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text("\n".join([
        f"listener {port} 127.0.0.1", "allow_anonymous true", f"user {getpass.getuser()}",
        "persistence true", f"persistence_location {workdir}/",
        "autosave_on_changes true", "autosave_interval 1",
        "max_queued_messages 100000", "log_dest none",
    ]) + "\n")
    return OwnServer([binary("mosquitto", "/usr/sbin/mosquitto"), "-c", str(conf)], port)
