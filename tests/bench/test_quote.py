"""bench/quote.py: its HTTP path runs end to end on a tiny market, with the API's defaults.

Not timed: the assertions are about what the benchmark measured (a real server answering real
quotes, the defaults it ran with), never about how fast.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import quote as bq
from services.api.app import create_app
from services.core.settings import Settings

RESULTS = Path(bq.__file__).resolve().parent / "results" / "quote.md"


def _defaults() -> Settings:
    """The API's defaults (whatever SHAREFAB_* this shell sets: the benchmark's server runs
    without them)."""
    return Settings.model_construct(**{
        name: field.default for name, field in Settings.model_fields.items()})


@pytest.fixture(scope="module")
def row(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    workdir = tmp_path_factory.mktemp("bench-quote")
    return bq.measure(120, runs=3, reference_s=1.0, quality_orders=1, seed=7, workdir=workdir,
                      curve={"time_limits_s": [0.05], "candidates": [4]})


def test_bench_quote__http_rows_are_sane(row):
    assert row["backend"] in ("PostgreSQL + Redis", "embedded SQLite")
    assert row["errors"] == 0
    assert row["answered"] + row["unmatched"] == row["runs"] == 3
    assert row["answered"] >= 1
    assert 0 < row["p50_ms"] <= row["p95_ms"]
    assert row["first_ms"] > 0
    assert row["cpu_ms"] > 0
    assert row["quality_orders"] == 1
    assert 0 < row["quote_vs_reference_worst"] < 10
    assert row["quote_plans_checked"] == 3 * (row["answered"] + 1)  # the first quote too
    assert row["quote_plans_rejected"] == 0
    assert row["reference_plans_checked"] == 1
    by_order = row["quote_vs_reference_by_order"]
    assert isinstance(by_order, dict)
    assert len(by_order) == 1
    assert max(by_order.values()) == row["quote_vs_reference_worst"]
    [point] = row["curve"]
    assert point["candidates_per_step"] == 4
    assert point["time_limit_s"] == 0.05
    assert point["requests"] >= 1
    assert point["p50_ms"] > 0
    table = bq.render([row], 1.0, [0.0, 0.0])
    assert "| 120 |" in table
    assert f"{row['quote_plans_checked']} quoted plans" in table
    assert "1 reference plans: all valid" in table
    assert "| 4 | 0.05 |" in table


def test_bench_quote__measured_the_apis_defaults(row):
    """The row ran with the defaults a deployment gets, and the server solved with them."""
    defaults = _defaults()
    assert row["time_limit_s"] == defaults.quote_default_time_limit_s
    assert row["candidates_per_step"] == defaults.quote_candidates_per_step
    assert row["server_time_limits_s"] == [defaults.quote_default_time_limit_s]


def test_bench_quote__benchmarks_md_states_the_current_defaults():
    """The committed figures were measured with today's defaults (re-run the bench after
    changing them)."""
    text = RESULTS.read_text(encoding="utf-8")
    limit = re.search(r"`quote_default_time_limit_s` = ([0-9.]+) s", text)
    candidates = re.search(r"`quote_candidates_per_step` = ([0-9]+)", text)
    assert limit is not None
    assert candidates is not None
    defaults = _defaults()
    assert float(limit.group(1)) == defaults.quote_default_time_limit_s
    assert int(candidates.group(1)) == defaults.quote_candidates_per_step


def test_bench_quote__the_api_hands_its_candidates_to_the_engine(tmp_path):
    """What the server quotes with: the runner's options come from the same Settings."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", mqtt_enabled=False,
                        environment="test")
    options = create_app(settings).state.quote_runner.options(
        settings.quote_default_time_limit_s)
    assert options.candidates_per_step == settings.quote_candidates_per_step
    assert options.time_limit_s == settings.quote_default_time_limit_s


def test_bench_quote__merge_keeps_the_stored_rows_of_other_sizes(tmp_path, monkeypatch):
    """``run(merge=True)`` (``--merge``): a size measured again replaces its stored row, the
    other sizes' rows stay as they were measured, and the new row carries its own load."""
    stored = RESULTS.with_suffix(".json").read_text(encoding="utf-8")
    markdown = tmp_path / "quote.md"
    markdown.with_suffix(".json").write_text(stored, encoding="utf-8")
    old = {r["resources"]: r for r in json.loads(stored)["rows"]}
    size = max(old)
    fresh = {**old[size], "p95_ms": -1.0, "curve": None}
    monkeypatch.setattr(bq, "measure", lambda n, *a, **k: dict(fresh, resources=n))
    bq.run(sizes=[size], markdown=markdown, merge=True, workdir=tmp_path)
    rows = {r["resources"]: r for r in json.loads(
        markdown.with_suffix(".json").read_text(encoding="utf-8"))["rows"]}
    assert set(rows) == set(old)
    assert rows[size]["p95_ms"] == -1.0
    assert len(rows[size]["loads"]) == 2
    for n in set(old) - {size}:
        assert rows[n] == old[n]
    assert "-1.0" in markdown.read_text(encoding="utf-8")


def test_check_quotes__a_broken_quoted_plan_is_counted_with_its_finding():
    from bench.market_gen import generate

    market = generate(40, n_orders=1, seed=3)
    order = market.orders[0]
    step = order.steps[0]
    broken = {"id": order.id, "status": "planned", "total_cost": 1.0, "lateness_min": 0,
              "allocations": [{"step": step.id, "factory": "nowhere", "resource": "no-such-R",
                               "quantity": order.quantity, "start": "2026-12-01T08:00:00Z",
                               "end": "2026-12-01T09:00:00Z", "pricing": "time_share",
                               "cost": 1.0}], "transports": []}
    checked = bq.check_quotes(market, [bq.Answer(order.id, 1.0, 201, 1.0, (broken,))])
    assert checked["quote_plans_checked"] == 1
    assert checked["quote_plans_rejected"] == 1
    assert checked["checker_findings"][0].startswith(f"{order.id}: ")


def _point(cands: int, limit: float, ratio: float) -> dict[str, object]:
    return {"candidates_per_step": cands, "time_limit_s": limit, "mean_ratio": ratio}


def test_choose_defaults__one_setting_meets_the_choice_of_every_curve():
    # the small market is served by 4 candidates, the large one needs 8 (4 is 1.4x its best)
    small = {"resources": 10_000, "time_limit_s": 0.05, "candidates_per_step": 6,
             "curve": [_point(4, 0.05, 0.63), _point(8, 0.05, 0.63), _point(8, 0.2, 0.63)]}
    large = {"resources": 100_000, "time_limit_s": 0.05, "candidates_per_step": 6,
             "curve": [_point(4, 0.05, 1.40), _point(8, 0.05, 0.98), _point(8, 0.2, 0.98)]}
    assert bq.choose_defaults([small]) == (0.05, 4)
    assert bq.choose_defaults([small, large]) == (0.05, 8)
    assert bq.choose_defaults([{"resources": 1_000}]) is None
    line = " ".join(bq._defaults_line([small, large]))
    assert "8 candidates per step at 0.05 s" in line
    assert "**not** the defaults" in line
