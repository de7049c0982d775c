"""Every ORM model, imported once so the mappers and Alembic see the whole schema."""

from __future__ import annotations

from services.audit.models import AuditEvent
from services.auth.models import Account, ApiKey, Organisation
from services.bookings.models import Booking
from services.core.db import Base
from services.events.models import OrderEvent
from services.factories.models import Factory
from services.jobs.models import QuoteJob
from services.orders.models import Order, OrderStep
from services.parks.models import Park
from services.quotes.models import Quote
from services.ratings.models import LotRecord, Rating
from services.resources.models import Resource, ResourceWindow
from services.scenario.models import MarketFacts
from services.simulations.models import SimulationRun
from services.webhooks.models import Webhook, WebhookDelivery

__all__ = ["Account", "ApiKey", "AuditEvent", "Base", "Booking", "Factory", "LotRecord",
           "MarketFacts", "Order", "OrderEvent", "OrderStep", "Organisation", "Park", "Quote",
           "QuoteJob", "Rating", "Resource", "ResourceWindow", "SimulationRun", "Webhook",
           "WebhookDelivery"]
