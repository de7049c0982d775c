"""The FJSP fast path: parse the Brandimarte format, solve small instances to their optimum."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.fjsp import check_schedule
from matching.cpsat import Budget
from matching.fjsp import greedy_fjsp, makespan, parse_fjs, solve_fjsp

# Fattahi1 (Fattahi, Saidi Mehrabad & Jolai 2007), the two-job example; proven optimum 66.
FATTAHI1 = "2 2 2\r\n2 2 1 25 2 37 2 1 32 2 24\r\n2 2 1 45 2 65 2 1 21 2 65\r\n"
MK01 = Path(__file__).resolve().parents[2] / "bench/instances/brandimarte/mk01.fjs"


def test_parse_fjs__token_stream_with_crlf() -> None:
    jobs = parse_fjs(FATTAHI1)
    assert jobs == [[[(1, 25), (2, 37)], [(1, 32), (2, 24)]],
                    [[(1, 45), (2, 65)], [(1, 21), (2, 65)]]]


def test_solve_fjsp__fattahi1_reaches_the_proven_optimum() -> None:
    jobs = parse_fjs(FATTAHI1)
    schedule, found = solve_fjsp(jobs, Budget(time_limit_s=2.0, workers=2))
    check_schedule(jobs, schedule)
    assert makespan(schedule) == 66
    assert found.status == "OPTIMAL"


def test_check_schedule__rejects_overlap_on_a_machine() -> None:
    jobs = parse_fjs(FATTAHI1)
    # The search stops as soon as it reaches the proven bound (about 0.7 s on a quiet machine);
    # 10 s is headroom for a loaded CI box, where 2 s sometimes ended at 42.
    schedule, _ = solve_fjsp(jobs, Budget(time_limit_s=10.0, workers=2))
    moved = [s if (s.job, s.op) != (2, 1) else type(s)(2, 1, schedule[0].machine,
                                                         schedule[0].start,
                                                         schedule[0].start + 45)
             for s in schedule]
    with pytest.raises(AssertionError):
        check_schedule(jobs, moved)


def test_check_schedule__an_operation_of_zero_time_holds_no_machine_time() -> None:
    """Hurink orb7 has an operation of 0 time units; the platform's greedy placed it inside
    another operation's run on the same machine, which the check used to call an overlap."""
    from matching.fjsp import Scheduled

    jobs = [[[(1, 10)]], [[(1, 0)], [(1, 5)]]]
    inside = [Scheduled(1, 1, 1, 0, 10), Scheduled(2, 1, 1, 4, 4), Scheduled(2, 2, 1, 10, 15)]
    check_schedule(jobs, inside)
    # a run of positive time still may not overlap, whatever lies between
    overlapping = [Scheduled(1, 1, 1, 0, 10), Scheduled(2, 1, 1, 4, 4),
                   Scheduled(2, 2, 1, 8, 13)]
    with pytest.raises(AssertionError, match="overlap"):
        check_schedule(jobs, overlapping)


def test_solve_fjsp__mk01_optimal_and_better_than_greedy() -> None:
    jobs = parse_fjs(MK01.read_text())
    # The search stops as soon as it reaches the proven bound (about 0.7 s on a quiet machine);
    # 10 s is headroom for a loaded CI box, where 2 s sometimes ended at 42.
    schedule, _ = solve_fjsp(jobs, Budget(time_limit_s=10.0, workers=2))
    check_schedule(jobs, schedule)
    baseline = greedy_fjsp(jobs)
    check_schedule(jobs, baseline)
    assert makespan(schedule) == 40  # best known and proven (ScheduleOpt bks.json)
    assert makespan(schedule) < makespan(baseline)


def test_bench_run__repeats_the_set_and_reports_the_spread(tmp_path: Path) -> None:
    from bench.fjsp import run

    (tmp_path / "fattahi1.fjs").write_text(FATTAHI1)
    markdown = tmp_path / "fjsp.md"
    rows = run(tmp_path, time_limit_s=1.0, runs=2, json_out=tmp_path / "out.json",
               markdown=markdown)
    assert [r["makespan_runs"] for r in rows] == [[66, 66]]
    assert rows[0]["schedule"]
    text = markdown.read_text()
    assert "2 runs of the whole set" in text
    assert "every makespan was the same in every run" in text


def test_cli_bench_fjsp__writes_json_and_leaves_the_repo_results_alone(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bench.fjsp import RESULTS
    from cli.apps import app

    (tmp_path / "fattahi1.fjs").write_text(FATTAHI1)
    section = RESULTS / "fjsp.md"
    before = section.read_bytes() if section.exists() else None
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["bench", "fjsp", str(tmp_path), "--time-limit", "1",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert [(r["instance"], r["makespan"]) for r in rows] == [("fattahi1", 66)]
    assert {"job", "op", "machine", "start", "end"} <= set(rows[0]["schedule"][0])
    assert (section.read_bytes() if section.exists() else None) == before
