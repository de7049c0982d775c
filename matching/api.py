"""The matching engine's public face: what services, simulations and benches call.

Every caller goes through ``solve`` and ``quote``; nobody builds a CP-SAT model by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from domain.model import OrderPlan, Plan, Scenario

Policy = Literal["cpsat", "greedy"]
QuoteKind = Literal["cheapest", "fastest", "balanced"]


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """Search budget. With ``workers=1`` and ``deterministic_time_s`` set, a run repeats exactly."""

    time_limit_s: float = 10.0
    workers: int = 2
    seed: int = 0
    deterministic_time_s: float | None = None
    max_lots_per_step: int = 3


@dataclass(frozen=True, slots=True)
class Quote:
    """One priced alternative for one order (cheapest, fastest or balanced)."""

    kind: QuoteKind
    plan: OrderPlan
    cost_breakdown: dict[str, float]  # "processing", "transport", "tardiness_penalty" in CNY


def solve(scenario: Scenario, *, policy: Policy = "cpsat",
          options: SolveOptions | None = None) -> Plan:
    """Plan every order of ``scenario`` on its shared resources (batch mode)."""
    raise NotImplementedError("matching.solve is being built (issue 3)")


def quote(scenario: Scenario, order_id: str, *,
          options: SolveOptions | None = None) -> list[Quote]:
    """Alternatives for one order against the market and its existing bookings."""
    raise NotImplementedError("matching.quote is being built (issue 3)")
