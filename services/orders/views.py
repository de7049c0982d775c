"""/orders: create (the scenario's order object, docs/formats.md#scenario), get, list and filter by
status.

An SME sees and changes only the orders it posted (another's answers 404); every create and
delete is audited.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi import status as http

from domain.schemas import OrderIn
from services.audit import service as audit
from services.auth import namespace, scope
from services.auth.deps import CurrentPrincipal
from services.core.db import MAX_OFFSET, DbSession
from services.core.errors import NotFoundError
from services.orders import service
from services.orders.models import Order, OrderRead, OrderState
from services.quotes.expiry import expire_quotes

router = APIRouter(prefix="/orders", tags=["orders"])


def get_owned(db: DbSession, principal: CurrentPrincipal, order_id: str) -> Order:
    """The order if ``principal`` owns it, else 404 (whether or not it exists)."""
    order = service.get(db, order_id=order_id)
    if order is None or not scope.owns_order(principal, order):
        raise NotFoundError("order", order_id)
    return order


@router.get("", response_model=list[OrderRead])
def list_orders(db: DbSession, request: Request, principal: CurrentPrincipal,
                status: OrderState | None = Query(None, description=(
                    "also the names before the lifecycle: booked (= accepted), "
                    "in_progress (= in_production)")),
                customer: str | None = None,
                limit: int = Query(1000, ge=1, le=10_000),
                offset: int = Query(0, ge=0, le=MAX_OFFSET)) -> list[OrderRead]:
    _expire(db, request)
    rows = service.get_all(db, status=status.value if status else None, customer=customer,
                           limit=limit, offset=offset, visible=scope.orders(principal))
    return [service.to_read(o) for o in rows]


@router.post("", response_model=OrderRead, status_code=http.HTTP_201_CREATED)
def create_order(db: DbSession, request: Request, principal: CurrentPrincipal,
                 order_in: OrderIn) -> OrderRead:
    """A new order of the caller's organisation; its ``due`` must lie in the future (422 on
    ``body.due`` otherwise).

    ``POST /scenario`` takes orders of any date: a historical scenario is replayed as it was.
    """
    service.check_due(order_in, now=request.app.state.clock())
    org = None if principal.is_platform else principal.org_id
    order_in = order_in.model_copy(update={"id": namespace.qualify(principal, order_in.id)})
    order = service.to_read(service.create(db, order_in=order_in, org_id=org))
    audit.record_by(db, principal, action="order.created", object_type="order",
                    object_id=order.id, owner_org=org, after=order)
    return order


@router.get("/{order_id}", response_model=OrderRead)
def get_order(db: DbSession, request: Request, principal: CurrentPrincipal,
              order_id: str) -> OrderRead:
    _expire(db, request, order_id)
    return service.to_read(get_owned(db, principal, order_id))


@router.delete("/{order_id}", status_code=http.HTTP_204_NO_CONTENT)
def delete_order(db: DbSession, principal: CurrentPrincipal, order_id: str) -> None:
    order = get_owned(db, principal, order_id)
    before, owner = service.to_read(order), order.org_id
    service.delete(db, order_id=order_id)
    audit.record_by(db, principal, action="order.deleted", object_type="order",
                    object_id=order_id, owner_org=owner, before=before)


def _expire(db: DbSession, request: Request, order_id: str | None = None) -> None:
    """Lazy expiry: lapsed offers read as expired even between two housekeeping sweeps."""
    state = request.app.state
    expire_quotes(db, now=state.clock(), ttl_s=state.settings.quote_ttl_s, order_id=order_id)
