"""arrival: a lot's pieces reach the next factory after the haul the matcher also uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.model import Transport
from scheduling.arrival import arrival, haul_min

T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
SUZHOU, HANGZHOU = (31.3, 120.6), (30.27, 120.15)


def test_arrival__same_site_is_at_once() -> None:
    assert arrival(T0, SUZHOU, SUZHOU, Transport()) == T0


def test_arrival__another_site_adds_handling_and_driving() -> None:
    t = Transport(speed_kmh=60.0, handling_min=30)
    minutes = haul_min(SUZHOU, HANGZHOU, t)
    assert minutes > 30 + 100  # ~150 km of road at 60 km/h, plus handling
    assert arrival(T0, SUZHOU, HANGZHOU, t) == T0 + timedelta(minutes=minutes)
