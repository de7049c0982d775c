"""The split of ``make test`` into side-by-side and alone: nothing falls between the passes."""

from __future__ import annotations

import re
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
    assert not runs_alone("tests/faultsy.py::test_v", ())


def _collected(*args: str) -> tuple[set[str], int]:
    """The test ids pytest selects with ``args``, and how many it collected before selecting."""
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", *args],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    selected = {line for line in out.splitlines() if "::" in line}
    summary = re.search(r"(\d+)/(\d+) tests collected", out)
    assert summary, out[-500:]
    assert int(summary.group(1)) == len(selected)
    return selected, int(summary.group(2))


def test_the_two_passes_of_make_test_cover_the_suite_once() -> None:
    paths = ["tests/faults/test_breaker.py", "tests/connectors/test_broker.py",
             "tests/domain/test_pricing.py"]
    alone, total = _collected("-m", "serial", *paths)
    side_by_side, _ = _collected("-m", "not serial", *paths)
    assert alone
    assert side_by_side
    assert not alone & side_by_side
    assert len(alone) + len(side_by_side) == total
    assert all(n.startswith(("tests/faults/", "tests/connectors/test_broker.py"))
               for n in alone)
    assert not any(n.startswith("tests/faults/") for n in side_by_side)
    assert {n for n in alone | side_by_side if n.startswith("tests/domain/")} <= side_by_side
