"""A decider's answer in solver terms (minutes, resource ids), before it becomes a Plan."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Lot:
    """``quantity`` pieces of ``step`` of ``order`` on ``resource`` from ``start_min``."""

    order: str
    step: str
    resource: str
    quantity: int
    start_min: int
    end_min: int


@dataclass(frozen=True, slots=True)
class Solution:
    lots: tuple[Lot, ...]
    unplaced: dict[str, str] = field(default_factory=dict)  # order id -> reason
    status: str = "FEASIBLE"
    objective_cny: float = 0.0
    bound_cny: float = 0.0
    wall_s: float = 0.0

    def lots_of(self, order: str, step: str | None = None) -> list[Lot]:
        return [x for x in self.lots if x.order == order and (step is None or x.step == step)]
