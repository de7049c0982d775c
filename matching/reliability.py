"""Reliability in the objective: a factory's platform credit prices the risk of using it.

One place for the whole term. Deciders see a lot on a factory of credit ``c`` (0..1) as
costing ``1 + RELIABILITY_WEIGHT * (1 - c)`` times its price: between two equally priced
offers the punctual factory wins, and a cheaper unreliable one still wins when its discount
outweighs its risk. Quoted prices stay the real prices; only the choice is risk-aware.
A factory of unknown credit (None) carries no risk term, so plain scenario documents solve as
before. An order's ``min_credit`` removes factories of known credit below it outright.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.model import Factory, Order, OrderPlan, Scenario
from matching.market_index import factories_by_id
from matching.problem import PriceTerm

# A factory of credit 0 looks 30% dearer than its price; one of credit 0.8 looks 6% dearer.
RELIABILITY_WEIGHT = 0.3


def risk_factor(factory: Factory) -> float:
    """How much dearer than its price a lot on ``factory`` looks to the deciders (>= 1)."""
    if factory.credit is None:
        return 1.0
    return 1.0 + RELIABILITY_WEIGHT * (1.0 - min(1.0, max(0.0, factory.credit)))


def risk_adjusted(terms: Iterable[PriceTerm], factory: Factory) -> tuple[PriceTerm, ...]:
    """The price terms the deciders optimise: each rate scaled by ``risk_factor``."""
    k = risk_factor(factory)
    if k == 1.0:
        return tuple(terms)
    return tuple(PriceTerm(t.mode, fen_per_min=round(t.fen_per_min * k),
                           fen_per_piece=round(t.fen_per_piece * k)) for t in terms)


def meets_min_credit(order: Order, factory: Factory) -> bool:
    """False when the order asks for a credit the factory's known record does not reach."""
    return (order.min_credit is None or factory.credit is None
            or factory.credit >= order.min_credit)


def risk_cny(scenario: Scenario, plan: OrderPlan) -> float:
    """The plan's risk term in CNY: what its lots' prices add when scaled by risk_factor."""
    factories = factories_by_id(scenario)
    return sum((risk_factor(factories[a.factory]) - 1.0) * a.cost
               for a in plan.allocations if a.factory in factories)
