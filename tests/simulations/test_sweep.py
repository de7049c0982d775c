"""Sweeps: grid parsing, and a 4-point grid on a local Ray."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from simulations.config import ConfigError, read_raw, with_params
from simulations.sweep import grid_points, parse_grid, run_point, run_sweep, to_csv

EXAMPLE = Path(__file__).resolve().parents[2] / "simulations" / "examples" / "market.yaml"


def tiny_raw():
    return with_params(read_raw(EXAMPLE), {"days": 0.5, "drain_days": 3, "factories": 12})


def test_parse_grid__values_are_typed_and_ordered():
    grid = parse_grid(["orders_per_day=50,100", "market.mtbf_h=100.5"])
    assert grid == {"orders_per_day": [50, 100], "market.mtbf_h": [100.5]}
    assert grid_points(grid) == [{"orders_per_day": 50, "market.mtbf_h": 100.5},
                                 {"orders_per_day": 100, "market.mtbf_h": 100.5}]


@pytest.mark.parametrize("spec", ["orders_per_day", "=1,2", "orders_per_day="])
def test_parse_grid__bad_spec_is_a_clear_error(spec):
    with pytest.raises(ConfigError, match="NAME=V1,V2"):
        parse_grid([spec])


def test_run_sweep__bad_point_fails_before_any_work():
    with pytest.raises(ConfigError, match=r"orders\.per_day"):
        run_sweep(tiny_raw(), {"orders_per_day": [10, -1]}, ["greedy"], use_ray=False)


@pytest.mark.slow
def test_sweep__four_points_on_local_ray():
    import ray  # a dev dependency: missing Ray is a broken install, not a reason to skip
    grid = parse_grid(["orders_per_day=10,30", "mtbf_h=50,500"])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        rows = run_sweep(tiny_raw(), grid, ["greedy", "single"])
    finally:
        ray.shutdown()
    assert len(rows) == 4 * 2
    assert [(r["point"], r["policy"]) for r in rows] == [
        (p, pol) for p in range(4) for pol in ("greedy", "single")]
    table = list(csv.DictReader(io.StringIO(to_csv(rows, list(grid)))))
    assert [(t["orders_per_day"], t["mtbf_h"]) for t in table[::2]] == [
        ("10", "50"), ("10", "500"), ("30", "50"), ("30", "500")]
    # More orders per day means more orders; a shorter MTBF means more breakdowns.
    greedy = [r for r in rows if r["policy"] == "greedy"]
    assert greedy[2]["orders"] > greedy[0]["orders"]
    assert greedy[0]["outages"] > greedy[1]["outages"]
    # A point run on Ray gives the same numbers as the same point run here.
    (local,) = list(run_point(tiny_raw(), grid_points(grid)[3], ["greedy"], 3))
    assert local == greedy[3]


def test_cli_sweep__writes_one_table(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from cli.apps import app

    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_raw()), encoding="utf-8")
    out = tmp_path / "sweep.csv"
    result = CliRunner().invoke(app, ["sweep", str(cfg), "--param", "orders_per_day=5,15",
                                      "--policy", "greedy", "--no-ray", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(t["orders_per_day"], t["policy"]) for t in table] == [("5", "greedy"),
                                                                    ("15", "greedy")]
    assert int(table[1]["orders"]) > int(table[0]["orders"])


def test_cli_sweep__bad_param_is_refused(tmp_path):
    from typer.testing import CliRunner

    from cli.apps import app

    result = CliRunner().invoke(app, ["sweep", str(EXAMPLE), "--param", "orders_per_week=5",
                                      "--no-ray", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "orders_per_week" in result.output
