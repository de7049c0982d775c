"""The discrete-event simulation (SimPy): orders arrive, get planned, lots run, machines break.

Time is the SimPy environment's, in whole minutes from the market's ``horizon_start``; the wall
clock never enters. Every process is a generator. What happens is written to ``log`` as
``(minute, text)`` so tests can assert whole timelines.

Execution assumptions (stated once here):
- a lot starts no earlier than its planned start, once every lot of the steps it comes after
  has arrived at its factory and its machine is free (plans are promises, the shop floor is
  first come, first served on each machine);
- the lots of a step made in one factory travel together: once the last is done, one truck
  takes them to each other factory where the following step has a lot (as the engine plans
  it); it leaves at once and takes ``Transport.duration_min(road_km)``;
- a breakdown stops the lots running on the machine; they resume where they stopped after the
  repair (work in progress stays on its fixture). Orders with lots booked on the machine during
  the outage that have not started are re-planned by the policy: every step of the order with no
  lot started yet is planned again from the moment its started work is expected to be done. If
  a step has started elsewhere, or the policy finds no new plan, the order waits for the repair;
- the platform learns the repair time when the machine goes down (the gateway reports an ETA).

Bookings and repairs go through the platform's own pure functions: a plan is committed with
``scheduling.booking.book`` against what the machines already hold (a plan that would
double-book is refused, as ``accept`` refuses it), and what a breakdown releases and remakes is
decided by ``scheduling.repair`` (here: every lot of the unstarted steps is released).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import simpy

from domain.geo import road_km
from domain.model import Order, OrderPlan, OrderStatus
from scheduling.booking import Lot, book
from scheduling.repair import Breakage, LotState, PlannedLot, remake_layers, repair
from simulations.generator import MIN_PER_DAY, Market, Outage
from simulations.market_state import BookedLot, MachineState, MarketState
from simulations.policies import Policy

LogEntry = tuple[int, str]
# A simulated lot's state as scheduling.repair reads it (cancelled lots are not active).
_LOT_STATE = {"planned": LotState.BOOKED, "running": LotState.RUNNING, "done": LotState.DONE}
Proc = Generator[simpy.Event, Any, None]


@dataclass(frozen=True, slots=True)
class Shipment:
    step: str  # "<order>.<step>": the lots of that step made at from_factory
    from_factory: str
    to_factory: str
    depart: int
    arrive: int
    km: float
    cost: float


@dataclass(eq=False)
class OrderRun:
    """One order's life in the simulation."""

    order: Order
    arrival: int
    due: int
    status: str = "waiting"  # waiting | unmatched | planned | done
    reason: str | None = None
    lots: dict[str, list[BookedLot]] = field(default_factory=dict)  # active lots per step
    legs: list[Shipment] = field(default_factory=list)
    completion: int | None = None
    planned_completion: int | None = None  # as promised by the latest plan
    replans: int = 0
    lot_seq: int = 0
    factory: str | None = None  # for the single policy: the one factory holding the order

    def active_lots(self) -> list[BookedLot]:
        return [lot for lots in self.lots.values() for lot in lots]

    def cost_cny(self) -> float:
        return sum(lot.cost for lot in self.active_lots()) + sum(leg.cost for leg in self.legs)

    def factories(self) -> set[str]:
        return {lot.factory for lot in self.active_lots()}


@dataclass(frozen=True, slots=True)
class BusySpan:
    resource: str
    start: int
    end: int


@dataclass
class SimResult:
    policy: str
    market: Market
    orders: list[OrderRun]
    busy: list[BusySpan]
    log: list[LogEntry]
    end_min: int
    outages: int
    # Wall-clock figures for benchmarks; never part of the KPIs (they would break repeatability).
    solver_wall_s: float
    engine_wall_s: float = 0.0
    engine_calls: int = 0


class Simulation:
    """One policy on one market. ``run()`` once; the result holds everything the KPIs need."""

    def __init__(self, market: Market, policy: Policy, *, lookahead_after_due_min: int = 0,
                 batch_min: int = 0, on_day: Callable[[int], None] | None = None) -> None:
        self.env = simpy.Environment()
        self.market = market
        self.policy = policy
        self.state = MarketState(market)
        self.lookahead = lookahead_after_due_min
        self.on_day = on_day
        self.batch_min = batch_min
        self.pending: list[OrderRun] = []
        self.log: list[LogEntry] = []
        self.runs: dict[str, OrderRun] = {}
        self.busy: list[BusySpan] = []
        self.machines_res = {rid: simpy.Resource(self.env, capacity=m.resource.capacity)
                             for rid, m in self.state.machines.items()}
        self.broken: dict[str, simpy.Event] = {rid: self.env.event() for rid in self.machines_res}
        self.repaired: dict[str, simpy.Event] = {rid: self.env.event()
                                                 for rid in self.machines_res}
        self.lot_done: dict[str, simpy.Event] = {}
        # (order, step, from, to) -> the truck's arrival
        self.arrivals: dict[tuple[str, str, str, str], simpy.Event] = {}
        self.km_cache: dict[tuple[str, str], float] = {}
        self._outage_count = 0

    # ------------------------------------------------------------------ running

    def run(self) -> SimResult:
        self.env.process(self._arrivals())
        self.env.process(self._outages())
        if self.batch_min > 0:
            self.env.process(self._matcher())
        if self.on_day is not None:
            self.env.process(self._days())
        self.env.run(until=self.market.end_min)
        return SimResult(policy=self.policy.name, market=self.market,
                         orders=list(self.runs.values()), busy=self.busy, log=self.log,
                         end_min=self.market.end_min, outages=self._outage_count,
                         solver_wall_s=float(getattr(self.policy, "solver_wall_s", 0.0)),
                         engine_wall_s=float(getattr(self.policy, "call_wall_s", 0.0)),
                         engine_calls=int(getattr(self.policy, "solves", 0)))

    @property
    def now(self) -> int:
        return int(self.env.now)

    def _say(self, text: str) -> None:
        self.log.append((self.now, text))

    def _days(self) -> Proc:
        day = 0
        while True:
            yield self.env.timeout(MIN_PER_DAY)
            day += 1
            assert self.on_day is not None
            self.on_day(day)

    # ------------------------------------------------------------------ orders

    def _arrivals(self) -> Proc:
        for arrival in self.market.arrivals:
            if arrival.at_min > self.now:
                yield self.env.timeout(arrival.at_min - self.now)
            order = arrival.order
            run = OrderRun(order=order, arrival=self.now, due=self.market.minute(order.due))
            self.runs[order.id] = run
            self._say(f"{order.id} arrives")
            if self.batch_min > 0:
                self.pending.append(run)
            else:
                self._place(run)

    def _matcher(self) -> Proc:
        """Batch mode: every ``batch_min`` the platform plans the orders that came in."""
        while True:
            yield self.env.timeout(self.batch_min)
            runs, self.pending = self.pending, []
            if len(runs) > 1 and self.policy.batch:
                scenario = self.state.snapshot([r.order for r in runs], self.now,
                                               lookahead_after_due_min=self.lookahead)
                plans = self.policy.plan_all(scenario)
                for run in runs:
                    self._apply(run, plans[run.order.id])
            else:
                for run in runs:
                    self._place(run)

    def _place(self, run: OrderRun) -> None:
        scenario = self.state.snapshot(run.order, self.now,
                                       lookahead_after_due_min=self.lookahead)
        self._apply(run, self.policy.plan(scenario, run.order.id))

    def _apply(self, run: OrderRun, plan: OrderPlan) -> None:
        if plan.status is not OrderStatus.PLANNED:
            run.status, run.reason = "unmatched", plan.reason
            self._say(f"{run.order.id} unmatched: {plan.reason or 'no plan'}")
            return
        lots = self._install(run, plan, start=self.now)
        if lots is None:
            run.status, run.reason = "unmatched", "booking refused: the plan clashes"
            self._say(f"{run.order.id} unmatched: {run.reason}")
            return
        run.status = "planned"
        run.planned_completion = self._completion(plan)
        factories = sorted({lot.factory for lot in lots})
        run.factory = factories[0] if len(factories) == 1 else None
        self._say(f"{run.order.id} planned: {len(lots)} lots at {','.join(factories)}, "
                  f"cost {plan.total_cost:.2f}")

    def _completion(self, plan: OrderPlan) -> int:
        if plan.completion is not None:
            return self.market.minute(plan.completion)
        return max(self.market.minute(a.end) for a in plan.allocations)

    def _install(self, run: OrderRun, plan: OrderPlan, *, start: int,
                 exclude: Sequence[str] = ()) -> list[BookedLot] | None:
        """Commit a plan's allocations (``scheduling.booking.book``, seen from minute
        ``start`` without the lots in ``exclude``) and start their processes; None when the
        commit is refused."""
        minute = self.market.minute
        proposal = [Lot(f"{a.step}#{k}", a.resource, minute(a.start), minute(a.end))
                    for k, a in enumerate(plan.allocations)]
        calendars = self.state.calendars({a.resource for a in plan.allocations}, start,
                                         exclude=exclude)
        if book(calendars, proposal):
            return None
        new: list[BookedLot] = []
        for a in sorted(plan.allocations, key=lambda a: (a.start, a.step, a.resource)):
            run.lot_seq += 1
            lot = BookedLot(
                id=f"{run.order.id}.{a.step}.L{run.lot_seq}", order=run.order.id, step=a.step,
                factory=a.factory, resource=a.resource, quantity=a.quantity,
                planned_start=self.market.minute(a.start), planned_end=self.market.minute(a.end),
                cost=a.cost)
            run.lots.setdefault(a.step, []).append(lot)
            self.state.book(lot)
            self.lot_done[lot.id] = self.env.event()
            new.append(lot)
        for lot in new:
            self.env.process(self._lot(run, lot))
        return new

    # ------------------------------------------------------------------ lots

    def _lot(self, run: OrderRun, lot: BookedLot) -> Proc:
        if lot.planned_start > self.now:
            yield self.env.timeout(lot.planned_start - self.now)
        for pred in run.order.step(lot.step).after:
            for src in sorted({p.factory for p in run.lots.get(pred, [])}):
                for p in [p for p in run.lots.get(pred, []) if p.factory == src]:
                    if p.state != "done":
                        yield self.lot_done[p.id]
                    if lot.state == "cancelled":
                        return
                if src != lot.factory:
                    yield self._truck(run, pred, src, lot.factory)
        if lot.state == "cancelled":
            return
        with self.machines_res[lot.resource].request() as req:
            yield req
            if lot.state == "cancelled":
                return
            while self.state.machines[lot.resource].down_until > self.now:
                yield self.repaired[lot.resource]
            if lot.state == "cancelled":
                return
            yield from self._work(lot)
        self._lot_finished(run, lot)

    def _work(self, lot: BookedLot) -> Proc:
        """Process the lot on its machine, pausing while the machine is down."""
        lot.state, lot.started, lot.remaining_min = "running", self.now, lot.duration_min
        self._say(f"{lot.id} starts on {lot.resource}")
        while lot.remaining_min > 0:
            machine = self.state.machines[lot.resource]
            if machine.down_until > self.now:
                yield self.repaired[lot.resource]
                self._say(f"{lot.id} resumes on {lot.resource}")
                continue
            t0 = self.now
            yield self.env.timeout(lot.remaining_min) | self.broken[lot.resource]
            if self.now > t0:
                self.busy.append(BusySpan(lot.resource, t0, self.now))
            lot.remaining_min -= self.now - t0
            if lot.remaining_min > 0:
                self._say(f"{lot.id} stops on {lot.resource}")

    def _lot_finished(self, run: OrderRun, lot: BookedLot) -> None:
        lot.state, lot.finished = "done", self.now
        self.state.release(lot)
        self._say(f"{lot.id} done on {lot.resource}")
        self.lot_done[lot.id].succeed()
        self._ship(run, lot)
        lots = run.active_lots()
        if run.status == "planned" and all(x.state == "done" for x in lots):
            run.status, run.completion = "done", self.now
            late = self.now - run.due
            verdict = f"late by {late} min" if late > 0 else f"on time ({-late} min early)"
            self._say(f"{run.order.id} completed {verdict}")

    def _ship(self, run: OrderRun, lot: BookedLot) -> None:
        """Once a step's lots at a factory are all done, truck them to the next factories."""
        if any(x.state != "done" for x in run.lots.get(lot.step, []) if x.factory == lot.factory):
            return
        for s in run.order.steps:
            if lot.step in s.after:
                for factory in sorted({n.factory for n in run.lots.get(s.id, [])}):
                    if factory != lot.factory:
                        self._truck(run, lot.step, lot.factory, factory)

    def _truck(self, run: OrderRun, step: str, src: str, dst: str) -> simpy.Event:
        """Arrival at ``dst`` of the lots of ``step`` made at ``src``; leaves now if not yet.

        One truck per (order, step, from, to), as the engine plans it: the lots of a step made
        in one factory travel together once the last of them is done.
        """
        key = (run.order.id, step, src, dst)
        if key not in self.arrivals:
            km = self._km(src, dst)
            leg = Shipment(step=f"{run.order.id}.{step}", from_factory=src, to_factory=dst,
                      depart=self.now, arrive=self.now + self.market.transport.duration_min(km),
                      km=km, cost=self.market.transport.cost_cny(km))
            run.legs.append(leg)
            self._say(f"{leg.step} ships {src}->{dst} ({km} km)")
            self.arrivals[key] = self.env.process(self._drive(leg))
        return self.arrivals[key]

    def _drive(self, leg: Shipment) -> Proc:
        yield self.env.timeout(leg.arrive - leg.depart)
        self._say(f"{leg.step} arrives at {leg.to_factory}")

    def _km(self, a: str, b: str) -> float:
        key = (a, b) if a < b else (b, a)
        if key not in self.km_cache:
            fa, fb = self.state.factories[a], self.state.factories[b]
            self.km_cache[key] = road_km(fa.lat, fa.lon, fb.lat, fb.lon)
        return self.km_cache[key]

    # ------------------------------------------------------------------ breakdowns

    def _outages(self) -> Proc:
        for outage in self.market.outages:
            if outage.down_min >= self.market.end_min:
                break
            if outage.down_min > self.now:
                yield self.env.timeout(outage.down_min - self.now)
            self._break(outage)

    def _break(self, outage: Outage) -> None:
        rid = outage.resource
        machine = self.state.machines[rid]
        machine.down_until = outage.up_min
        self._outage_count += 1
        self._say(f"{rid} breaks down, repair takes {outage.up_min - outage.down_min} min")
        event, self.broken[rid] = self.broken[rid], self.env.event()
        event.succeed()
        self.env.process(self._repair(outage))
        self._replan_affected(machine, outage.up_min)

    def _repair(self, outage: Outage) -> Proc:
        yield self.env.timeout(outage.up_min - self.now)
        self._say(f"{outage.resource} repaired")
        event, self.repaired[outage.resource] = (self.repaired[outage.resource],
                                                 self.env.event())
        event.succeed()

    def _replan_affected(self, machine: MachineState, up: int) -> None:
        hit: dict[str, set[str]] = {}
        for lot in machine.lots.values():
            if lot.state == "planned" and lot.planned_start < up:
                hit.setdefault(lot.order, set()).add(lot.step)
        for oid in sorted(hit):
            run = self.runs[oid]
            if run.status == "planned":
                self._replan(run, hit[oid], machine.resource.id)

    def _replan(self, run: OrderRun, hit_steps: set[str], rid: str) -> None:
        unstarted = [s.id for s in run.order.steps
                     if all(lot.state == "planned" for lot in run.lots.get(s.id, []))]
        if not hit_steps <= set(unstarted):
            self._say(f"{run.order.id} waits for {rid} repair")
            return
        # The platform's repair decides: every lot of the unstarted steps is broken, so those
        # steps are released and remade whole, from their kept input on.
        by_id = {lot.id: lot for lot in run.active_lots()}
        planned = [PlannedLot(lot.id, lot.step, lot.resource, lot.planned_start,
                              lot.planned_end, lot.quantity, _LOT_STATE[lot.state],
                              done=lot.quantity if lot.state == "done" else 0)
                   for lot in by_id.values()]
        steps = {s.id: s.after for s in run.order.steps}
        broken = Breakage(lots=frozenset(lot.id for s in unstarted
                                         for lot in run.lots.get(s, [])))
        decision = repair(planned, steps=steps, quantity=run.order.quantity, broken=broken)
        layers = remake_layers(decision, steps=steps, lots=planned)
        if len(layers) != 1:  # nothing made yet in a released step: one layer, always
            self._say(f"{run.order.id} waits for {rid} repair (no single re-plan)")
            return
        [layer] = layers
        residual = dataclasses.replace(self._residual(run, list(layer.steps)),
                                       quantity=layer.quantity)
        release = max([self.now, *(by_id[k].expected_end(self.now) for k in layer.fed_by)])
        dropped = [by_id[k] for k in decision.release]
        scenario = self.state.snapshot(residual, release, lookahead_after_due_min=self.lookahead,
                                       exclude=[lot.id for lot in dropped],
                                       factory=run.factory if self.policy.name == "single"
                                       else None)
        plan = self.policy.plan(scenario, residual.id)
        if plan.status is not OrderStatus.PLANNED:
            self._say(f"{run.order.id} waits for {rid} repair (no new plan)")
            return
        lots = self._install(run, dataclasses.replace(plan, id=run.order.id), start=release,
                             exclude=[lot.id for lot in dropped])
        if lots is None:
            self._say(f"{run.order.id} waits for {rid} repair (booking refused)")
            return
        new_ids = {lot.id for lot in lots}
        for lot in dropped:
            lot.state = "cancelled"
            self.state.release(lot)
        for s in layer.steps:
            run.lots[s] = [lot for lot in run.lots.get(s, []) if lot.id in new_ids]
        run.replans += 1
        started = [by_id[k] for k in decision.keep]
        run.planned_completion = max([self._completion(plan),
                                      *(lot.expected_end(self.now) for lot in started)])
        self._say(f"{run.order.id} replanned: {len(layer.steps)} steps, {len(lots)} lots at "
                  f"{','.join(sorted({lot.factory for lot in lots}))}")

    def _residual(self, run: OrderRun, steps: list[str]) -> Order:
        """The part of the order still to plan: its unstarted steps, value apportioned."""
        keep = set(steps)
        order = run.order
        total = sum(s.minutes_per_piece for s in order.steps) or 1.0
        share = sum(s.minutes_per_piece for s in order.steps if s.id in keep) / total
        new_steps = tuple(dataclasses.replace(s, after=tuple(a for a in s.after if a in keep))
                          for s in order.steps if s.id in keep)
        return dataclasses.replace(order, id=f"{order.id}.r{run.replans + 1}", steps=new_steps,
                                   value=round(order.value * share, 2))


def simulate(market: Market, policy: Policy, *, lookahead_after_due_min: int = 0,
             batch_min: int = 0, on_day: Callable[[int], None] | None = None) -> SimResult:
    """Run ``policy`` on ``market`` to the end of the market's horizon."""
    return Simulation(market, policy, lookahead_after_due_min=lookahead_after_due_min,
                      batch_min=batch_min, on_day=on_day).run()
