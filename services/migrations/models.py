"""Every ORM model, imported once so the mappers and Alembic see the whole schema."""

from __future__ import annotations

from services.audit.models import AuditEvent
from services.auth.models import Account, ApiKey, Organisation
from services.bookings.models import Booking
from services.core.db import Base
from services.factories.models import Factory
from services.jobs.models import QuoteJob
from services.orders.models import Order, OrderStep
from services.parks.models import Park
from services.quotes.models import Quote
from services.resources.models import Resource, ResourceWindow
from services.scenario.models import MarketFacts

__all__ = ["Account", "ApiKey", "AuditEvent", "Base", "Booking", "Factory", "MarketFacts",
           "Order", "OrderStep", "Organisation", "Park", "Quote", "QuoteJob", "Resource",
           "ResourceWindow"]
