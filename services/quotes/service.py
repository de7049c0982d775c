"""Quotes: the market view an order is priced against, and storing the alternatives.

Solving is not here: the router runs ``matching.engine.quote`` in a worker thread between the two
short transactions below, so no database transaction is held while CP-SAT searches.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from domain import model as m
from domain.schemas import dump_plan
from matching.engine import Quote as MatchQuote
from services.core.errors import ConflictError, NotFoundError
from services.events import service as events
from services.orders import lifecycle
from services.orders.models import Order, OrderState
from services.orders.service import OPEN_STATES
from services.orders.transitions import transition
from services.quotes.models import Quote, QuoteRead, QuoteState
from services.scenario.market_cache import MarketCache
from services.scenario.market_view import market_for_order


def get(session: Session, *, quote_id: str) -> Quote | None:
    return session.get(Quote, quote_id)


def get_all(session: Session, *, order_id: str) -> Sequence[Quote]:
    kind_rank = case({"cheapest": 0, "fastest": 1, "balanced": 2}, value=Quote.kind, else_=3)
    return session.scalars(select(Quote).where(Quote.order_id == order_id)
                           .order_by(Quote.created_at, kind_rank, Quote.id)).all()


def market_for(session: Session, *, order_id: str, unavailable: set[str],
               now: datetime, cache: MarketCache | None = None) -> m.Scenario:
    """The market view to quote ``order_id`` against; 404 / 409 when it cannot be quoted."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError("order", order_id)
    if order.status not in OPEN_STATES:
        raise ConflictError(f"order {order_id} is {order.status}; it can no longer be quoted")
    return market_for_order(session, order=order, unavailable=unavailable, now=now,
                            cache=cache)


def store(session: Session, *, order_id: str, alternatives: Sequence[MatchQuote],
          solver: dict[str, float], now: datetime, actor: str = "system") -> list[Quote]:
    """Save the planned alternatives as offered quotes; the order becomes ``quoted``.

    Unmatched alternatives are not stored (the pricing flow refuses an order with no plan).
    """
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError("order", order_id)
    rows = []
    for alt in alternatives:
        if alt.plan.status is not m.OrderStatus.PLANNED:
            continue
        plan = dump_plan(m.Plan(orders=(alt.plan,), solver=m.SolverInfo(status="")))["orders"][0]
        breakdown = money_breakdown(alt.cost_breakdown)
        row = Quote(id=f"Q-{uuid.uuid4().hex[:12]}", order_id=order_id, kind=alt.kind,
                    status=QuoteState.OFFERED.value, plan_status=alt.plan.status.value,
                    total_cost=breakdown["total"], completion=alt.plan.completion,
                    lateness_min=alt.plan.lateness_min, plan=plan,
                    cost_breakdown=breakdown, solver=solver, created_at=now)
        session.add(row)
        rows.append(row)
    feasible = [r for r in rows if r.plan_status == m.OrderStatus.PLANNED.value]
    if feasible:
        details: dict[str, object] = {"quotes": {r.kind: r.id for r in feasible},
                                      "cheapest_cny": min(r.total_cost for r in feasible)}
        current = OrderState(order.status)
        if current == OrderState.QUOTED:  # asked again: new offers, same state
            events.record(session, order_id=order_id, kind="quoted", actor=actor,
                          details=details, at=now)
        elif lifecycle.allowed(current, OrderState.QUOTED):
            transition(session, order=order, to=OrderState.QUOTED, actor=actor,
                       details=details, at=now)
        # else: accepted meanwhile (a queued solve finishing late); the offers just lapse.
    session.flush()
    return rows


def money_breakdown(engine: dict[str, float]) -> dict[str, float]:
    """The quote's figures in CNY, adding up: ``total = processing + transport`` (the price,
    also ``total_cost``); ``tardiness_penalty`` is not charged, it is the scenario's weight
    times hours late that ranked the alternative, and ``score = total + tardiness_penalty``.

    The engine's own ``total`` is that score; it is not what the buyer pays.
    """
    processing = round(engine.get("processing", 0.0), 2)
    transport = round(engine.get("transport", 0.0), 2)
    penalty = round(engine.get("tardiness_penalty", 0.0), 2)
    total = round(processing + transport, 2)
    return {"processing": processing, "transport": transport, "total": total,
            "tardiness_penalty": penalty, "score": round(total + penalty, 2)}


def to_read(q: Quote) -> QuoteRead:
    return QuoteRead(id=q.id, order=q.order_id, kind=q.kind, status=QuoteState(q.status),
                     total_cost=q.total_cost, completion=q.completion,
                     lateness_min=q.lateness_min, cost_breakdown=q.cost_breakdown, plan=q.plan,
                     created_at=q.created_at)
