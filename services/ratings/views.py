"""POST/GET /orders/{id}/ratings (two-sided, after completion); GET /factories/{id}/credit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi import status as http
from pydantic import Field

from services.auth import scope
from services.auth.deps import CurrentPrincipal
from services.core.db import DbSession
from services.core.errors import InvalidError, NotFoundError
from services.factories import service as factory_service
from services.orders import service as order_service
from services.ratings import service
from services.ratings.models import (
    CreditRead,
    CustomerRatesFactory,
    FactoryRatesCustomer,
    RatingRead,
)

router = APIRouter(tags=["ratings"])

RatingIn = Annotated[CustomerRatesFactory | FactoryRatesCustomer, Field(discriminator="side")]


@router.post("/orders/{order_id}/ratings", response_model=RatingRead,
             status_code=http.HTTP_201_CREATED)
def rate_order(db: DbSession, request: Request, principal: CurrentPrincipal, order_id: str,
               rating_in: Annotated[RatingIn, Body()]) -> RatingRead:
    """``side: customer`` rates a factory (quality, on_time, communication, 1-5);
    ``side: factory`` rates the customer (clear_spec, payment). Once each, after done.

    The SME of the order speaks as the customer; a factory organisation only for its own
    factories that worked on the order."""
    _visible_order(db, principal, order_id)
    if not principal.is_platform:
        side = "customer" if principal.org_kind == "sme" else "factory"
        if rating_in.side != side:
            raise InvalidError("body.side", f"a {principal.org_kind} organisation rates as "
                                            f"the {side}")
        if side == "factory":
            factory = factory_service.get(db, factory_id=rating_in.factory)
            if factory is None or not scope.owns_factory(principal, factory):
                raise InvalidError("body.factory", f"{rating_in.factory!r} is not yours")
    row = service.rate(db, order_id=order_id, rating_in=rating_in, actor=principal.actor,
                       now=request.app.state.clock())
    return service.to_read(row)


@router.get("/orders/{order_id}/ratings", response_model=list[RatingRead])
def list_order_ratings(db: DbSession, principal: CurrentPrincipal,
                       order_id: str) -> list[RatingRead]:
    _visible_order(db, principal, order_id)
    return [service.to_read(r) for r in service.get_all(db, order_id=order_id)]


@router.get("/factories/{factory_id}/credit", response_model=CreditRead)
def factory_credit(db: DbSession, principal: CurrentPrincipal, factory_id: str) -> CreditRead:
    """The platform's credit score of the factory, with the record and priors behind it."""
    factory = factory_service.get(db, factory_id=factory_id)
    if factory is None or not scope.sees_factory(db, principal, factory):
        raise NotFoundError("factory", factory_id)
    return service.credit_of(db, factory_id=factory_id)


def _visible_order(db: DbSession, principal: CurrentPrincipal, order_id: str) -> None:
    """404 unless the caller is the order's SME or a factory that has lots of it."""
    order = order_service.get(db, order_id=order_id)
    if order is None or not scope.takes_part_in_order(db, principal, order):
        raise NotFoundError("order", order_id)
