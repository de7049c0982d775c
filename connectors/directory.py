"""Which parks, factories and resources the platform knows: the ingest refuses the rest.

The services layer implements ``Directory`` over the database (cached); tests and benchmarks
use ``StaticDirectory``. Connectors never import services: they only see this protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Directory(Protocol):
    def has_factory(self, park: str, factory: str) -> bool: ...

    def has_resource(self, park: str, factory: str, resource: str) -> bool: ...

    def resources_of(self, park: str, factory: str) -> list[str]:
        """Resource ids of a factory (a gateway's Last Will turns all of them offline)."""
        ...

    def locate(self, resource: str) -> tuple[str, str] | None:
        """(park, factory) of a resource, for addressing its work-orders topic."""
        ...

    def booking_resource(self, booking: str) -> str | None:
        """The resource a booking is placed on (None: no such booking): a gateway's progress
        is only taken for lots on the resource of its topic."""
        ...


class StaticDirectory:
    """A fixed directory from (park, factory, resource) triples."""

    def __init__(self, triples: Iterable[tuple[str, str, str]] = (),
                 bookings: dict[str, str] | None = None) -> None:
        self._resources: dict[tuple[str, str], list[str]] = {}
        self._where: dict[str, tuple[str, str]] = {}
        self._bookings: dict[str, str] = dict(bookings or {})
        for park, factory, resource in triples:
            self.add(park, factory, resource)

    def add_booking(self, booking: str, resource: str) -> None:
        self._bookings[booking] = resource

    def add(self, park: str, factory: str, resource: str) -> None:
        known = self._resources.setdefault((park, factory), [])
        if resource not in known:
            known.append(resource)
        self._where[resource] = (park, factory)

    def has_factory(self, park: str, factory: str) -> bool:
        return (park, factory) in self._resources

    def has_resource(self, park: str, factory: str, resource: str) -> bool:
        return self._where.get(resource) == (park, factory)

    def resources_of(self, park: str, factory: str) -> list[str]:
        return list(self._resources.get((park, factory), ()))

    def locate(self, resource: str) -> tuple[str, str] | None:
        return self._where.get(resource)

    def booking_resource(self, booking: str) -> str | None:
        return self._bookings.get(booking)
