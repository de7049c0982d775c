"""POST/GET /orders/{id}/ratings (two-sided, after completion); GET /factories/{id}/credit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi import status as http
from pydantic import Field

from services.core.db import DbSession
from services.core.errors import NotFoundError
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
def rate_order(db: DbSession, request: Request, order_id: str,
               rating_in: Annotated[RatingIn, Body()]) -> RatingRead:
    """``side: customer`` rates a factory (quality, on_time, communication, 1-5);
    ``side: factory`` rates the customer (clear_spec, payment). Once each, after done."""
    row = service.rate(db, order_id=order_id, rating_in=rating_in, actor="anonymous",
                       now=request.app.state.clock())
    return service.to_read(row)


@router.get("/orders/{order_id}/ratings", response_model=list[RatingRead])
def list_order_ratings(db: DbSession, order_id: str) -> list[RatingRead]:
    if order_service.get(db, order_id=order_id) is None:
        raise NotFoundError("order", order_id)
    return [service.to_read(r) for r in service.get_all(db, order_id=order_id)]


@router.get("/factories/{factory_id}/credit", response_model=CreditRead)
def factory_credit(db: DbSession, factory_id: str) -> CreditRead:
    """The platform's credit score of the factory, with the record and priors behind it."""
    return service.credit_of(db, factory_id=factory_id)
