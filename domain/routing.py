"""Order routings are DAGs of steps; these helpers check and walk them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class _HasAfter(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def after(self) -> Sequence[str]: ...


class RoutingError(ValueError):
    """A routing that names unknown steps, repeats an id or has a cycle."""


def topological_order(steps: Iterable[_HasAfter]) -> list[str]:
    """Step ids so that every step comes after the steps it waits for (Kahn's algorithm)."""
    steps = list(steps)
    ids = [s.id for s in steps]
    seen: set[str] = set()
    for sid in ids:
        if sid in seen:
            raise RoutingError(f"step id {sid!r} appears twice")
        seen.add(sid)
    preds: dict[str, set[str]] = {}
    for s in steps:
        for p in s.after:
            if p not in seen:
                raise RoutingError(f"step {s.id!r} comes after unknown step {p!r}")
            if p == s.id:
                raise RoutingError(f"step {s.id!r} comes after itself")
        preds[s.id] = set(s.after)
    order: list[str] = []
    ready = [sid for sid in ids if not preds[sid]]
    while ready:
        sid = ready.pop(0)
        order.append(sid)
        for other in ids:
            if sid in preds[other]:
                preds[other].discard(sid)
                if not preds[other] and other not in order and other not in ready:
                    ready.append(other)
    if len(order) != len(ids):
        cyclic = sorted(sid for sid in ids if sid not in order)
        raise RoutingError(f"steps {cyclic} form a cycle through their 'after' lists")
    return order


def successors(steps: Iterable[_HasAfter]) -> dict[str, list[str]]:
    """For each step id, the steps that wait for it."""
    steps = list(steps)
    succ: dict[str, list[str]] = {s.id: [] for s in steps}
    for s in steps:
        for p in s.after:
            succ[p].append(s.id)
    return succ
