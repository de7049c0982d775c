"""Distances between factories."""

from __future__ import annotations

import math

# Mean Earth radius, IUGG value (Moritz 2000, Geodetic Reference System 1980).
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; road distance is longer, see ``road_km``."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


# Ratio of road to great-circle distance; ~1.2-1.4 in most road networks (Boscoe, Henry &
# Zdeb 2012, "A nationwide comparison of driving distance versus straight-line distance").
ROAD_FACTOR = 1.3


def road_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Estimated road distance, rounded to 0.1 km so plans print cleanly."""
    return round(haversine_km(lat1, lon1, lat2, lon2) * ROAD_FACTOR, 1)
