"""``sharefab match``: a one-order example comes back in seconds, not after the old 10 s."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli  # registers the command modules on the app
from cli.apps import app
from cli.match_cmd import default_time_limit

_ = cli
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scenario.json"


@pytest.mark.parametrize(("orders", "limit"), [(1, 2.0), (4, 2.0), (10, 5.0), (100, 10.0)])
def test_default_time_limit__grows_with_the_batch_within_2_to_10_s(orders, limit):
    assert default_time_limit(orders) == limit


def test_match__one_order_example_default_budget_is_2_s(tmp_path):
    out = tmp_path / "plan.json"
    t0 = time.perf_counter()
    result = CliRunner().invoke(app, ["match", str(EXAMPLE), "-o", str(out)])
    elapsed = time.perf_counter() - t0
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["orders"][0]["status"] == "planned"
    assert plan["solver"]["wall_s"] <= 3.0  # CP-SAT's own clock: the old default ran 10 s
    assert elapsed < 8.0
