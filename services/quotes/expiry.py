"""Quotes expire: an offer not accepted within ``quote_ttl_s`` lapses, and an order whose
every offer lapsed becomes ``expired`` (it may be quoted again).

Checked lazily where quotes and orders are read, and by the API's background sweep, so a
customer sees the truth whether or not anyone asked in between.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.orders.models import Order, OrderState
from services.orders.transitions import transition
from services.quotes.models import Quote, QuoteState


def expire_quotes(session: Session, *, now: datetime, ttl_s: int, order_id: str | None = None,
                  actor: str = "system") -> list[str]:
    """Lapse the offers older than ``ttl_s``; answers the orders that became expired."""
    cutoff = now - timedelta(seconds=ttl_s)
    query = select(Quote).where(Quote.status == QuoteState.OFFERED.value,
                                Quote.created_at < cutoff)
    if order_id is not None:
        query = query.where(Quote.order_id == order_id)
    lapsed: dict[str, list[str]] = {}
    for q in session.scalars(query.order_by(Quote.id)):
        q.status = QuoteState.EXPIRED.value
        lapsed.setdefault(q.order_id, []).append(q.id)
    session.flush()
    expired = []
    for oid, quote_ids in sorted(lapsed.items()):
        order = session.get(Order, oid, with_for_update=True)
        if order is None or OrderState(order.status) != OrderState.QUOTED:
            continue
        still_offered = session.scalar(select(Quote.id).where(
            Quote.order_id == oid, Quote.status == QuoteState.OFFERED.value).limit(1))
        if still_offered is None:
            transition(session, order=order, to=OrderState.EXPIRED, actor=actor, at=now,
                       details={"quotes": quote_ids, "ttl_s": ttl_s})
            expired.append(oid)
    return expired
