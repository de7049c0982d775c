"""``sharefab sweep`` without Ray: a local process pool, or a clear refusal for a cluster."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import cli  # registers the command modules on the app
from cli.apps import app
from simulations.config import read_raw, with_params

_ = cli
EXAMPLE = Path(__file__).resolve().parents[2] / "simulations" / "examples" / "market.yaml"


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    raw = with_params(read_raw(EXAMPLE), {"days": 0.5, "drain_days": 3, "factories": 12})
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.slow
def test_sweep__without_ray_runs_on_a_process_pool(no_ray, tiny_config, tmp_path):
    out = tmp_path / "sweep.csv"
    result = CliRunner().invoke(app, ["sweep", str(tiny_config), "--param",
                                      "orders_per_day=10,30", "--policy", "greedy",
                                      "--num-cpus", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "process pool" in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["orders_per_day"] for r in rows] == ["10", "30"]


def test_sweep__ray_address_without_ray_is_a_clear_error(no_ray, tiny_config, tmp_path):
    result = CliRunner().invoke(app, ["sweep", str(tiny_config), "--param",
                                      "orders_per_day=10", "--policy", "greedy",
                                      "--ray-address", "10.0.0.1:6379",
                                      "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 2
    assert "sharefab[sweep]" in result.output
    assert "Traceback" not in result.output
