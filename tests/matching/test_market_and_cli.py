"""The seeded market generator, candidate search at scale, and the ``sharefab match`` command."""

from __future__ import annotations

import json
import time
from pathlib import Path

from typer.testing import CliRunner

from bench.market_gen import generate
from cli.apps import app
from domain.schemas import dump_scenario, load_plan, parse_scenario
from matching.build import build_problem
from tests.matching.plan_checker import check_plan


def test_market_gen__same_seed_same_market_other_seed_other_market() -> None:
    assert generate(50, 2, seed=4) == generate(50, 2, seed=4)
    assert generate(50, 2, seed=4) != generate(50, 2, seed=5)
    s = generate(50, 2, seed=4)
    assert sum(len(f.resources) for f in s.factories) == 50
    assert parse_scenario(dump_scenario(s)) == s  # a valid scenario document


def test_candidates__pruned_search_at_ten_thousand_resources_stays_cheap() -> None:
    s = generate(10_000, 1, seed=1)
    t0 = time.perf_counter()
    problem = build_problem(s, keep_per_step=5)
    elapsed = time.perf_counter() - t0
    assert all(len(st.options) <= 5 + 6 for o in problem.orders for st in o.steps)
    assert elapsed < 1.0  # ~0.05 s measured; generous for a loaded CI machine


def test_match_cmd__writes_a_valid_plan(tmp_path: Path) -> None:
    s = generate(30, 2, seed=11)
    src, out = tmp_path / "scenario.json", tmp_path / "plan.json"
    src.write_text(json.dumps(dump_scenario(s)))
    result = CliRunner().invoke(app, ["match", str(src), "-o", str(out), "--time-limit", "1"])
    assert result.exit_code == 0, result.output
    plan = load_plan(json.loads(out.read_text()))
    assert [o.id for o in plan.orders] == ["O1", "O2"]
    assert not check_plan(s, plan)


def test_match_cmd__bad_scenario_names_the_field(tmp_path: Path) -> None:
    src = tmp_path / "bad.json"
    doc = dump_scenario(generate(5, 1, seed=2))
    doc["orders"][0]["quantity"] = -3
    src.write_text(json.dumps(doc))
    result = CliRunner().invoke(app, ["match", str(src)])
    assert result.exit_code == 2
    assert "quantity" in result.output


def test_next_midnight__a_market_started_there_has_every_order_due_after_now() -> None:
    """The load bench used the fixed 2026-12-01 start: from 12-05 on its orders were due in
    the past and the server refused them (422), which the report counted as errors."""
    from datetime import UTC, datetime

    from bench.market_gen import next_midnight

    now = datetime(2026, 12, 5, 0, 58, tzinfo=UTC)
    start = next_midnight(now)
    assert start == datetime(2026, 12, 6, tzinfo=UTC)
    market = generate(200, n_orders=20, seed=7, start=start)
    assert all(o.due > now for o in market.orders)
    assert next_midnight(datetime(2026, 12, 5, 23, 59, 59, tzinfo=UTC)) == start
