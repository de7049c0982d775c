"""Candidate search: which resources can run a step, found through an index by process code.

A market of 10,000 resources holds a few hundred per process; the index turns "who can mill
al6061 with ISO9001 in park P1" into one dict lookup and a short filter, and ``prune`` then
keeps the few most promising per step so the CP-SAT model stays small.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from domain.model import Factory, Order, PricingMode, Resource, Scenario, Step
from domain.pricing import offered_modes
from matching.reliability import meets_min_credit


class Candidate(NamedTuple):
    """A resource that passed every filter for one step (a tuple: 10,000 are made per index)."""

    factory: Factory
    resource: Resource


class CandidateIndex:
    """Resources grouped by process code (built once per scenario)."""

    def __init__(self, scenario: Scenario, processes: set[str] | None = None) -> None:
        """Index every resource, or only those of ``processes`` (all a batch of orders needs)."""
        by_process: dict[str, list[Candidate]] = defaultdict(list)
        for factory in scenario.factories:
            for resource in factory.resources:
                if processes is None or resource.process in processes:
                    by_process[resource.process].append(Candidate(factory, resource))
        self._by_process = dict(by_process)

    def capable(self, order: Order, step: Step) -> list[Candidate]:
        """Resources for ``step`` of ``order``: process, material, certifications, park, price."""
        need_certs = set(order.certifications)
        parks = set(order.parks)
        out = []
        for c in self._by_process.get(step.process, ()):
            r, f = c.resource, c.factory
            if r.materials and order.material not in r.materials:
                continue
            if need_certs and not need_certs.issubset(f.certifications):
                continue
            if parks and f.park not in parks:
                continue
            if not meets_min_credit(order, f):
                continue
            offered = offered_modes(r, order)
            if not offered or (order.pricing is not PricingMode.CHEAPEST
                               and order.pricing not in offered):
                continue
            out.append(c)
        return out

    def why_none(self, order: Order, step: Step) -> str:
        """A sentence for a person: which filter left ``step`` without any resource."""
        head = f"no capable resource for step {step.id} '{step.process}'"
        pool = self._by_process.get(step.process, [])
        if not pool:
            return f"{head}: no resource in the market offers this process"
        pool = [c for c in pool if not c.resource.materials
                or order.material in c.resource.materials]
        if not pool:
            return f"{head} in material {order.material}"
        if order.certifications:
            pool = [c for c in pool if set(order.certifications) <= set(c.factory.certifications)]
            if not pool:
                return (f"{head} in material {order.material} with certifications "
                        f"{', '.join(order.certifications)}")
        if order.parks:
            pool = [c for c in pool if c.factory.park in order.parks]
            if not pool:
                return f"{head} in material {order.material} in parks {', '.join(order.parks)}"
        if order.min_credit is not None:
            pool = [c for c in pool if meets_min_credit(order, c.factory)]
            if not pool:
                return (f"{head} in material {order.material} from a factory of credit "
                        f">= {order.min_credit}")
        if order.value <= 0 and any(c.resource.pricing.offered() for c in pool):
            return (f"{head} in material {order.material} offering pricing "
                    f"'{order.pricing.value}' (by_value offers need the order's value)")
        return f"{head} in material {order.material} offering pricing '{order.pricing.value}'"
