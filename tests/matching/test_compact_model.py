"""The lot model's compact form: constant placement when the hint places every order, and the
redundant load cut that gives CP-SAT a makespan bound (matching.cpsat_model.add_load_cuts)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from bench.fjsp_market import to_scenario
from domain.model import OrderStatus
from matching import engine
from matching.cpsat_model import build_model
from matching.engine import SolveOptions
from matching.fjsp import fjsp_problem, parse_fjs
from matching.problem import Weights
from tests.matching.builders import at, factory, order, resource, scenario
from tests.matching.conftest import checked_solve

MK01 = Path(__file__).resolve().parents[2] / "bench/instances/brandimarte/mk01.fjs"


def _constraints(weights: Weights) -> int:
    problem = dataclasses.replace(fjsp_problem(parse_fjs(MK01.read_text())), weights=weights)
    return len(build_model(problem, must_place=True).model.proto.constraints)


def test_load_cut__one_per_resource_only_when_the_makespan_is_priced() -> None:
    machines = len(fjsp_problem(parse_fjs(MK01.read_text())).resources)
    priced = _constraints(Weights(cost=0, tardiness=0, makespan=1))
    unpriced = _constraints(Weights(cost=0, tardiness=0, makespan=0))
    assert priced - unpriced == machines


def test_load_cut__an_unused_resource_opening_late_does_not_hold_the_makespan() -> None:
    # F1-M2 opens at 40 h: a cut from its first free minute would force the makespan past it.
    s = scenario([factory("F1", resource("F1-M1"), resource("F1-M2", windows=((40, 48),)))],
                 [order("O1", quantity=60, min_lot=60)], makespan_per_hour=1.0,
                 tardiness_per_hour=0.0, cost=0.0)
    plan = checked_solve(s, time_limit_s=2.0)
    assert plan.order("O1").completion == at(1)
    # The makespan priced is 1 h at 1 CNY/h, not the 40 h at which F1-M2 opens.
    assert plan.solver.objective == pytest.approx(1.0)


def _record_must_place(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    seen: list[bool] = []
    real = engine.run_cpsat  # type: ignore[attr-defined]

    def spy(*args: Any, **kw: Any) -> Any:
        seen.append(bool(kw.get("must_place")))
        return real(*args, **kw)

    monkeypatch.setattr(engine, "run_cpsat", spy)
    return seen


def test_solve__placement_is_constant_when_the_hint_places_every_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _record_must_place(monkeypatch)
    s = scenario([factory("F1", resource("F1-M1"), resource("F1-M2"))],
                 [order(f"O{i}", quantity=30) for i in (1, 2, 3)])
    plan = checked_solve(s, time_limit_s=1.0)
    assert seen == [True]
    assert all(o.status is OrderStatus.PLANNED for o in plan.orders)


def test_solve__placement_stays_a_choice_when_the_hint_leaves_an_order_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _record_must_place(monkeypatch)
    # Two 90-minute orders, one 2-hour window: only one fits.
    s = scenario([factory("F1", resource("F1-M1", windows=((0, 2),)))],
                 [order(f"O{i}", quantity=90) for i in (1, 2)])
    plan = checked_solve(s, time_limit_s=1.0)
    assert seen == [False]
    assert sorted(o.status.value for o in plan.orders) == sorted(
        [OrderStatus.PLANNED.value, OrderStatus.UNMATCHED.value])


def test_solve__unit_orders_of_an_fjsp_market_proved_optimal() -> None:
    """mk01 (10 unit orders, 6 machines, optimum 40): the compact model proves it."""
    s = to_scenario(parse_fjs(MK01.read_text()))
    plan = engine.solve(s, options=SolveOptions(time_limit_s=15.0))
    assert plan.solver.status == "OPTIMAL"
    assert plan.solver.objective * 60 == pytest.approx(40, abs=1e-6)
