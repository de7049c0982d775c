"""Which tests share the one worker of the group that never overlaps (tests/serial.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.serial import runs_alone

ROOT = Path(__file__).resolve().parents[1]


def test_runs_alone__by_path_and_by_fixture() -> None:
    assert runs_alone("tests/faults/test_breaker.py::test_x", ())
    assert runs_alone("tests/services/test_concurrent_accepts.py::test_y[pg]", ["postgres_url"])
    assert runs_alone("tests/connectors/test_broker.py::test_z", ["tmp_path", "mqtt_url"])
    assert not runs_alone("tests/services/test_orders.py::test_w", ["client", "redis_url"])
    assert runs_alone("tests/connectors/test_broker_restart.py::test_k", ())
    assert not runs_alone("tests/faultsy.py::test_v", ())


def test_collection_puts_exactly_those_tests_in_the_group() -> None:
    """The collection hook really marks them: ``-m xdist_group`` selects the fault tests, the
    users of the shared Mosquitto, and nothing else."""
    paths = ["tests/faults/test_backpressure.py", "tests/connectors/test_broker.py",
             "tests/domain/test_pricing.py"]
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", "-m", "xdist_group", *paths],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    grouped = [line for line in out.splitlines() if "::" in line]
    assert any(n.startswith("tests/faults/") for n in grouped), out[-800:]
    assert any(n.startswith("tests/connectors/test_broker.py") for n in grouped), out[-800:]
    assert not any(n.startswith("tests/domain/") for n in grouped), out[-800:]
