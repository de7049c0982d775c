"""/orders: create (the scenario's order object, docs/formats.md#scenario), get, list and filter by
status.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi import status as http

from domain.schemas import OrderIn
from services.core.db import MAX_OFFSET, DbSession
from services.core.errors import NotFoundError
from services.orders import service
from services.orders.models import OrderRead, OrderState
from services.quotes.expiry import expire_quotes

router = APIRouter(prefix="/orders", tags=["orders"])


@router.get("", response_model=list[OrderRead])
def list_orders(db: DbSession, request: Request,
                status: OrderState | None = Query(None, description=(
                    "also the names before the lifecycle: booked (= accepted), "
                    "in_progress (= in_production)")),
                customer: str | None = None,
                limit: int = Query(1000, ge=1, le=10_000),
                offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[OrderRead]:
    _expire(db, request)
    rows = service.get_all(db, status=status.value if status else None, customer=customer,
                           limit=limit, offset=offset)
    return [service.to_read(o) for o in rows]


@router.post("", response_model=OrderRead, status_code=http.HTTP_201_CREATED)
def create_order(db: DbSession, request: Request, order_in: OrderIn) -> OrderRead:
    """A new order; its ``due`` must lie in the future (422 on ``body.due`` otherwise).

    ``POST /scenario`` takes orders of any date: a historical scenario is replayed as it was.
    """
    service.check_due(order_in, now=request.app.state.clock())
    return service.to_read(service.create(db, order_in=order_in))


@router.get("/{order_id}", response_model=OrderRead)
def get_order(db: DbSession, request: Request, order_id: str) -> OrderRead:
    _expire(db, request, order_id)
    order = service.get(db, order_id=order_id)
    if order is None:
        raise NotFoundError("order", order_id)
    return service.to_read(order)


@router.delete("/{order_id}", status_code=http.HTTP_204_NO_CONTENT)
def delete_order(db: DbSession, order_id: str) -> None:
    service.delete(db, order_id=order_id)


def _expire(db: DbSession, request: Request, order_id: str | None = None) -> None:
    """Lazy expiry: lapsed offers read as expired even between two housekeeping sweeps."""
    state = request.app.state
    expire_quotes(db, now=state.clock(), ttl_s=state.settings.quote_ttl_s, order_id=order_id)
