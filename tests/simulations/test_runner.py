"""End to end on the shipped example: repeatable files, the policy comparison, the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.apps import app
from simulations.config import load_config, parse_config, read_raw, with_params
from simulations.runner import run_policies, write_outputs

EXAMPLE = Path(__file__).resolve().parents[2] / "simulations" / "examples" / "market.yaml"


def short_example():
    """The example with one day of arrivals: quick enough to run twice."""
    return parse_config(with_params(read_raw(EXAMPLE), {"days": 1, "drain_days": 5}))


def test_same_seed_twice__identical_kpis_csv(tmp_path):
    config = short_example()
    for out in ("a", "b"):
        write_outputs(run_policies(config, ["cpsat", "greedy", "single"], seed=5),
                      tmp_path / out, report=False)
    a, b = tmp_path / "a", tmp_path / "b"
    assert (a / "kpis.csv").read_bytes() == (b / "kpis.csv").read_bytes()
    assert (a / "events_cpsat.csv").read_bytes() == (b / "events_cpsat.csv").read_bytes()
    assert (a / "utilization.csv").read_bytes() == (b / "utilization.csv").read_bytes()
    assert (a / "orders_greedy.csv").read_bytes() == (b / "orders_greedy.csv").read_bytes()
    rows = (a / "kpis.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["cpsat", "greedy", "single"]
    assert int(rows[1].split(",")[1]) > 0  # the short run has orders at all
    orders = (a / "orders_single.csv").read_text().splitlines()
    assert orders[0].startswith("order,policy,arrival_h,due_h,status")
    assert len(orders) - 1 == int(rows[3].split(",")[1])  # a row per order of the run


def test_other_seed__other_kpis(tmp_path):
    config = short_example()
    a = run_policies(config, ["greedy"], seed=5)[0].kpis
    b = run_policies(config, ["greedy"], seed=6)[0].kpis
    assert a != b


@pytest.fixture(scope="module")
def example_runs():
    return run_policies(load_config(EXAMPLE), ["cpsat", "greedy", "single"])


def test_example__cpsat_fills_more_orders_on_time_than_single(example_runs):
    k = {r.kpis.policy: r.kpis for r in example_runs}
    assert k["cpsat"].orders == k["single"].orders > 40
    assert k["cpsat"].on_time > k["single"].on_time
    assert k["single"].factories_per_order == 1.0
    assert k["cpsat"].multi_factory_orders > 0


def test_example__cpsat_costs_less_per_order_than_greedy(example_runs):
    k = {r.kpis.policy: r.kpis for r in example_runs}
    assert k["cpsat"].filled >= 0.9 * k["cpsat"].orders
    assert k["cpsat"].cost_per_order < k["greedy"].cost_per_order


def test_example__report_shows_the_numbers(example_runs, tmp_path):
    written = write_outputs(example_runs, tmp_path, title="example")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert tmp_path / "report.html" in written
    k = {r.kpis.policy: r.kpis for r in example_runs}
    assert f"{k['cpsat'].cost_per_order:,.2f}" in html
    assert f"{k['greedy'].cost_per_order:,.2f}" in html
    assert f"{k['single'].on_time_rate:.1%}" in html
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 6
    assert "http" not in html.split("<body>")[1]  # self-contained: no outside assets


def test_cli_simulate__writes_the_files(tmp_path):
    result = CliRunner().invoke(app, ["simulate", str(EXAMPLE), "--policy", "greedy,single",
                                      "--seed", "3", "--out", str(tmp_path / "out"),
                                      "--param", "days=1", "--param", "drain_days=3",
                                      "--param", "factories=12"])
    assert result.exit_code == 0, result.output
    header = (tmp_path / "out" / "kpis.csv").read_text().splitlines()[0].split(",")
    for column in ("policy", "orders", "filled", "on_time_rate", "mean_lead_time_h",
                   "cost_per_order", "utilization"):
        assert column in header
    assert (tmp_path / "out" / "events_single.csv").exists()
    assert (tmp_path / "out" / "report.html").exists()
    assert "12 factories" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_cli_simulate__unknown_policy_is_refused(tmp_path):
    result = CliRunner().invoke(app, ["simulate", str(EXAMPLE), "--policy", "cpsat,magic",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown policy 'magic'" in result.output


def test_cli_simulate__bad_config_names_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE.read_text().replace("per_day: 20", "per_day: -3"), encoding="utf-8")
    result = CliRunner().invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "orders.per_day" in result.output
