"""When a lot's input arrives: the upstream lot's finish plus the haul between the factories.

The matcher prices and times transport with the same rule (``Transport.duration_min`` of the
road distance); the platform uses it again after the fact, when a kept lot feeds a re-planned
one or a lot finishes late, so no lot starts before its input is at its door.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.geo import road_km
from domain.model import Transport

Site = tuple[float, float]  # (lat, lon)


def haul_min(origin: Site, destination: Site, transport: Transport) -> int:
    """Minutes from one factory's door to another's (0 on the same site)."""
    return transport.duration_min(road_km(*origin, *destination))


def arrival(finished: datetime, origin: Site, destination: Site,
            transport: Transport) -> datetime:
    """When pieces finished at ``origin`` at ``finished`` reach ``destination``.

    We assume a lot travels whole once it is done (the matcher's assumption too).
    """
    return finished + timedelta(minutes=haul_min(origin, destination, transport))
