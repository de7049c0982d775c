"""Shared vocabulary of ShareFab: process taxonomy, market facts, orders, plans. No I/O."""

from domain.model import (
    Allocation,
    Booking,
    Capability,
    Factory,
    Objective,
    Order,
    OrderPlan,
    OrderStatus,
    Plan,
    Pricing,
    PricingMode,
    Resource,
    Scenario,
    SolverInfo,
    Step,
    Transport,
    TransportLeg,
    Window,
)

__all__ = [
    "Allocation", "Booking", "Capability", "Factory", "Objective", "Order", "OrderPlan",
    "OrderStatus", "Plan", "Pricing", "PricingMode", "Resource", "Scenario", "SolverInfo", "Step",
    "Transport", "TransportLeg", "Window",
]
