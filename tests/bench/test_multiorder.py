"""bench/multiorder.py: both policies' plans go through the independent checker."""

from __future__ import annotations

from pathlib import Path

from bench import multiorder


def test_run__every_plan_checked_and_said(tmp_path: Path) -> None:
    out = tmp_path / "multiorder.md"
    rows = multiorder.run(scenarios=1, time_limit_s=0.5, n_resources=60, n_orders=3,
                          markdown=out)
    assert rows[0]["greedy_placed"] >= 1
    assert "2 plans checked by `tests/matching/plan_checker.py`: all valid" in out.read_text()
