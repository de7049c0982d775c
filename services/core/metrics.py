"""The business counters of the platform (Prometheus default registry).

Here, below the noun packages, so that views and flows can count without importing the API
shell; ``services.api.metrics`` renders them with the rest at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

QUOTE_SECONDS = Histogram("sharefab_quote_solve_seconds", "Wall time of matching.engine.quote",
                          buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
BOOKINGS = Counter("sharefab_bookings", "Lots booked by accepted quotes")
BOOKING_CONFLICTS = Counter("sharefab_booking_conflicts",
                            "Quote acceptances refused because the time was taken")
