"""An FJSP instance as a market (bench/fjsp_market.py), solved by the platform's engine."""

from __future__ import annotations

from pathlib import Path

from bench.fjsp import check_schedule, render, solve_instance
from bench.fjsp_market import T0, schedule_of, solve_as_market, to_scenario
from domain.model import OrderStatus
from matching.engine import solve
from matching.fjsp import makespan, parse_fjs
from tests.matching.plan_checker import check_plan

# Fattahi1 (Fattahi, Saidi Mehrabad & Jolai 2007), the two-job example; proven optimum 66.
FATTAHI1 = "2 2 2\r\n2 2 1 25 2 37 2 1 32 2 24\r\n2 2 1 45 2 65 2 1 21 2 65\r\n"


def test_to_scenario__jobs_are_one_piece_orders_machines_resources_makespan_objective() -> None:
    scenario = to_scenario(parse_fjs(FATTAHI1))
    (shop,) = scenario.factories
    assert [r.id for r in shop.resources] == ["M1", "M2"]
    assert [(o.id, o.quantity, len(o.steps)) for o in scenario.orders] == [("J1", 1, 2),
                                                                           ("J2", 1, 2)]
    second = scenario.orders[0].steps[1]
    assert second.after == ("o1",)
    assert dict(second.minutes_per_piece_on) == {"M1": 32.0, "M2": 24.0}
    assert set(second.only_on) == {"M1", "M2"}
    assert (scenario.objective.cost, scenario.objective.tardiness_per_hour,
            scenario.objective.makespan_per_hour) == (0.0, 0.0, 1.0)


def test_solve_as_market__fattahi1_reaches_the_proven_optimum_and_passes_both_checkers() -> None:
    jobs = parse_fjs(FATTAHI1)
    found = solve_as_market(jobs, time_limit_s=10.0)  # checked by the plan checker inside
    check_schedule(jobs, found.schedule)
    assert makespan(found.schedule) == 66
    assert found.bound_min <= 66


def test_solve_as_market__durations_are_the_machines_own() -> None:
    jobs = parse_fjs(FATTAHI1)
    scenario = to_scenario(jobs)
    plan = solve(scenario, policy="greedy")
    assert check_plan(scenario, plan) == []
    assert all(o.status is OrderStatus.PLANNED for o in plan.orders)
    for s in schedule_of(plan):
        assert s.end - s.start == dict(jobs[s.job - 1][s.op - 1])[s.machine]
        assert s.start >= 0
    assert scenario.horizon_start == T0


def test_solve_instance__platform_row_and_the_section_names_each_engine(tmp_path: Path) -> None:
    path = tmp_path / "fattahi1.fjs"
    path.write_text(FATTAHI1)
    row = solve_instance(path, 10.0, 2, "platform")
    assert (row["engine"], row["makespan"]) == ("platform", 66)
    assert row["bound"] <= row["makespan"] <= row["greedy_makespan"]
    other = dict(row, engine="fjsp", makespan=70)
    text = render([row, other], 10.0, 2, 1.0)
    assert "Engine `platform`: the engine the platform runs" in text
    assert "Engine `fjsp`: the FJSP-only search" in text
    assert "platform / FJSP-only mean 0.943" in text  # 66 / 70
    assert "lower on 1, equal on 0 of 1" in text


def test_subset__is_the_named_nineteen_of_the_full_sets() -> None:
    from bench.fjsp import instance_name, subset

    names = [instance_name(p) for p in subset()]
    assert len(names) == 19
    assert "rdata/la01" in names
    assert "vdata/la36" in names
    assert "13a" in names


def test_full_sets__every_instance_parses_and_has_its_published_bounds() -> None:
    from bench.fjsp import BKS, FULL, instance_name, pyjobshop_900s

    names = [instance_name(p) for p in FULL]
    # Hurink rdata and vdata, 66 each (file names shared, so the set is in the name), and the
    # 18 Dauzere-Peres & Paulli instances
    assert sum(n.startswith("rdata/") for n in names) == 66
    assert sum(n.startswith("vdata/") for n in names) == 66
    assert sum("/" not in n for n in names) == 18
    assert len(set(names)) == 150
    reference = pyjobshop_900s()
    compared = 0
    for path in FULL:
        jobs = parse_fjs(path.read_text())
        assert len(jobs) == int(path.read_text().split()[0])
        name = instance_name(path)
        assert BKS[name] > 0
        if name in reference:  # PyJobShop ran la01-la40, mt06/10/20 and every Dauzere one
            compared += 1
            # its 900 s CP-SAT makespan is feasible, so never below the best known
            status, span, bound = reference[name]
            assert bound <= BKS[name] <= span
            if status == "Optimal":
                assert span == BKS[name]
    assert compared == 43 + 43 + 18


def test_cli_bench_fjsp__engine_option_names_the_engine_and_refuses_others(
        tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from cli.apps import app

    (tmp_path / "fattahi1.fjs").write_text(FATTAHI1)
    out = tmp_path / "out.json"
    runner = CliRunner()
    ok = runner.invoke(app, ["bench", "fjsp", str(tmp_path), "--time-limit", "2",
                             "--engine", "fjsp", "--json", str(out)])
    assert ok.exit_code == 0, ok.output
    assert [(r["engine"], r["makespan"]) for r in json.loads(out.read_text())] == [("fjsp", 66)]
    bad = runner.invoke(app, ["bench", "fjsp", str(tmp_path), "--engine", "nope"])
    assert bad.exit_code != 0


def test_render_stored__full_sets_summarised_per_set_with_the_rows_in_a_file_of_their_own(
        tmp_path: Path) -> None:
    import json

    from bench.fjsp import BKS, FULL_TITLE, render_stored

    def row(name: str, span: int, status: str = "FEASIBLE") -> dict[str, object]:
        bks = BKS[name]
        return {"instance": name, "engine": "platform", "makespan": span, "bound": bks - 10,
                "status": status, "cpu_s": 20.0, "bks": bks,
                "gap_pct": 100.0 * (span - bks) / bks, "greedy_makespan": span + 100,
                "wall_s": 30.0, "makespan_runs": [span]}

    rows = [row("rdata/la01", 570, "OPTIMAL"), row("rdata/la02", 529 + 529 // 10),
            row("01a", 2505 * 2)]
    full = tmp_path / "fjsp_full.json"
    full.write_text(json.dumps(rows))
    (tmp_path / "fjsp_full.meta.json").write_text(json.dumps(
        {"measured": "2026-12-04 23:30 UTC", "time_limit_s": 30.0, "workers": 2,
         "load": 1.2}))
    text = render_stored(tmp_path / "absent.json", tmp_path / "fjsp.md", subset_json=None,
                         full_json=full)
    assert FULL_TITLE in text
    rdata = next(line for line in text.splitlines() if line.startswith("| Hurink rdata"))
    cells = [c.strip() for c in rdata.strip("|").split("|")]
    # 2 instances, gaps 0 % and 10 % (529 // 10 = 52 on 529: 9.83 %), one at BKS, one proven
    assert cells[1:6] == ["2", f"{100 * 52 / 529 / 2:.2f}", f"{100 * 52 / 529:.2f}", "1", "1"]
    assert "| Dauzere-Peres & Paulli | 1 | 100.00 |" in text
    assert "Hurink vdata" not in text  # no rows, no line
    detail = (tmp_path / "fjsp_full.md").read_text()
    assert "| rdata/la02 | 581 |" in detail
