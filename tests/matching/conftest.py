"""Solve helpers: every plan a matching test produces goes through the independent checker."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.model import Plan, Scenario
from matching.engine import SolveOptions, solve
from tests.matching.plan_checker import check_plan

Solve = Callable[..., Plan]


def checked_solve(scenario: Scenario, policy: str = "cpsat", *, time_limit_s: float = 1.0,
                  max_lots: int = 3, **kw: object) -> Plan:
    opts = SolveOptions(time_limit_s=time_limit_s, workers=2, max_lots_per_step=max_lots,
                        **kw)  # type: ignore[arg-type]
    plan = solve(scenario, policy=policy, options=opts)  # type: ignore[arg-type]
    errors = check_plan(scenario, plan, max_lots=max_lots)
    assert not errors, "\n".join(errors)
    return plan


@pytest.fixture(params=["cpsat", "greedy"])
def policy(request: pytest.FixtureRequest) -> str:
    return str(request.param)
