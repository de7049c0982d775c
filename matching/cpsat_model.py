"""The CP-SAT model, one function per constraint family; decision variables live only here.

Each step of each order is cut into up to K lots (``Problem.max_lots``). A lot is an optional
interval that, when present, sits on exactly one of the step's candidate resources. Windows are
modelled by the complement: the gaps between a resource's free intervals are fixed intervals in
its no-overlap (or cumulative) constraint, so a lot can only land inside one free interval,
without one literal per (resource, window) pair.

Indexing (tuple keys, as in or-tools' flexible_job_shop_sat example):
- ``lots[(order, step, k)]``            -> LotVars, k = 0..K-1
- ``LotVars.on[resource]``              -> BoolVar, the lot runs on that resource
- ``LotVars.at[factory]``               -> BoolVar, the lot runs in that factory
- ``sites[(order, step)][factory]``     -> BoolVar, some lot of the step runs in that factory
- ``legs[(order, after, before, f, g)]`` -> BoolVar, a truck f -> g between the two steps
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from matching.problem import Option, OrderFacts, Problem, StepFacts

# A missed order costs more than any plan can: placing an order always wins.
UNPLACED_PENALTY = 10**11


@dataclass
class LotVars:
    present: cp_model.IntVar
    quantity: cp_model.IntVar | int
    start: cp_model.IntVar
    end: cp_model.IntVar
    duration: cp_model.IntVar | None
    on: dict[str, cp_model.IntVar] = field(default_factory=dict)
    at: dict[str, cp_model.IntVar] = field(default_factory=dict)
    intervals: dict[str, cp_model.IntervalVar] = field(default_factory=dict)
    cost_fen: cp_model.IntVar | None = None


@dataclass
class ModelVars:
    model: cp_model.CpModel
    lots: dict[tuple[str, str, int], LotVars] = field(default_factory=dict)
    placed: dict[str, cp_model.IntVar] = field(default_factory=dict)
    completion: dict[str, cp_model.IntVar] = field(default_factory=dict)
    tardiness: dict[str, cp_model.IntVar] = field(default_factory=dict)
    legs: dict[tuple[str, str, str, str, str], cp_model.IntVar] = field(default_factory=dict)
    sites: dict[tuple[str, str], dict[str, cp_model.IntVar]] = field(default_factory=dict)
    makespan: cp_model.IntVar | None = None
    late: dict[str, cp_model.IntVar] = field(default_factory=dict)  # order misses its due date

    def step_lots(self, order: str, step: str) -> list[LotVars]:
        out, k = [], 0
        while (order, step, k) in self.lots:
            out.append(self.lots[(order, step, k)])
            k += 1
        return out


def fixed_quantity(problem: Problem, order: OrderFacts) -> bool:
    """One lot per step: its size is the order quantity and every duration is a constant."""
    return problem.max_lots(order) == 1


def create_lots(mv: ModelVars, problem: Problem, *, must_place: bool) -> None:
    """Variables only: presence, size, timing and resource choice of every lot."""
    m, h = mv.model, problem.horizon
    for order in problem.orders:
        placed = m.new_constant(1) if must_place else m.new_bool_var(f"placed[{order.id}]")
        mv.placed[order.id] = placed
        k_max, fixed = problem.max_lots(order), fixed_quantity(problem, order)
        for step in order.steps:
            for k in range(k_max):
                name = f"{order.id}.{step.id}.{k}"
                present = placed if fixed else m.new_bool_var(f"present[{name}]")
                if fixed:
                    qty: cp_model.IntVar | int = order.quantity
                    duration = None
                else:
                    qty = m.new_int_var(0, order.quantity, f"q[{name}]")
                    duration = m.new_int_var(0, h, f"d[{name}]")
                lot = LotVars(present, qty, m.new_int_var(0, h, f"s[{name}]"),
                              m.new_int_var(0, h, f"e[{name}]"), duration)
                for opt in step.options:
                    lit = m.new_bool_var(f"on[{name},{opt.resource}]")
                    lot.on[opt.resource] = lit
                    if duration is None:
                        lot.intervals[opt.resource] = m.new_optional_fixed_size_interval_var(
                            lot.start, opt.duration_min(order.quantity), lit,
                            f"iv[{name},{opt.resource}]")
                    else:
                        lot.intervals[opt.resource] = m.new_optional_interval_var(
                            lot.start, duration, lot.end, lit, f"iv[{name},{opt.resource}]")
                mv.lots[(order.id, step.id, k)] = lot


def add_assignment(mv: ModelVars, problem: Problem) -> None:
    """Hard: a present lot runs on exactly one candidate resource; an absent lot on none.

    Also ties the lot's end when its duration is a constant (single-lot steps) and names the
    factory of each lot, which transport and max_factories read.
    """
    m = mv.model
    for order in problem.orders:
        for step in order.steps:
            for lot in mv.step_lots(order.id, step.id):
                m.add(sum(lot.on.values()) == lot.present)
                if lot.duration is None:
                    m.add(lot.end == lot.start + sum(
                        opt.duration_min(order.quantity) * lot.on[opt.resource]
                        for opt in step.options))
                factories = sorted({o.factory for o in step.options})
                for f in factories:
                    here = [lot.on[o.resource] for o in step.options if o.factory == f]
                    if len(factories) == 1:
                        lot.at[f] = lot.present  # one factory: the lot is there iff present
                    elif len(here) == 1:
                        lot.at[f] = here[0]
                    else:
                        lit = m.new_bool_var(f"at[{f}]")
                        m.add(lit == sum(here))
                        lot.at[f] = lit


def add_lot_sizes(mv: ModelVars, problem: Problem) -> None:
    """Hard: a step's lots add up to the order quantity (when placed), each >= min_lot, and a
    lot lasts at least setup + ceil(q * minutes_per_piece / speed) on its resource."""
    m = mv.model
    for order in problem.orders:
        if fixed_quantity(problem, order):
            continue
        floor = order.lot_floor()
        for step in order.steps:
            lots = mv.step_lots(order.id, step.id)
            m.add(sum(lot.quantity for lot in lots) == order.quantity * mv.placed[order.id])
            for i, lot in enumerate(lots):
                q = lot.quantity
                assert not isinstance(q, int)
                assert lot.duration is not None
                m.add(q >= floor).only_enforce_if(lot.present)
                m.add(q == 0).only_enforce_if(~lot.present)
                m.add(lot.duration == 0).only_enforce_if(~lot.present)
                if i + 1 < len(lots):  # symmetry: lots sorted by size, absent ones last
                    m.add(q >= lots[i + 1].quantity)
                    m.add_implication(lots[i + 1].present, lot.present)
                for opt in step.options:
                    # d >= setup + ceil(q * num / den)  <=>  den * (d - setup) >= num * q
                    m.add(opt.run_den * (lot.duration - opt.setup_min) >= opt.run_num * q
                          ).only_enforce_if(lot.on[opt.resource])


def add_windows(mv: ModelVars, problem: Problem) -> None:
    """Hard: a lot starts and ends within the span of its resource's free intervals.

    The holes inside that span are blocked by ``add_no_overlap``, so together a lot sits inside
    one published window and outside every existing booking.
    """
    m = mv.model
    for lot in mv.lots.values():
        for rid, lit in lot.on.items():
            lo, hi = problem.resources[rid].span()
            if lo <= 0 and hi >= problem.horizon:
                continue  # the variables' domains already say so
            m.add(lot.start >= lo).only_enforce_if(lit)
            m.add(lot.end <= hi).only_enforce_if(lit)


def add_no_overlap(mv: ModelVars, problem: Problem) -> None:
    """Hard: lots never overlap on a machine, never exceed a service line's capacity, and never
    cover the fixed blocks (gaps between windows, existing bookings)."""
    m = mv.model
    per_resource: dict[str, list[cp_model.IntervalVar]] = {rid: [] for rid in problem.resources}
    for lot in mv.lots.values():
        for rid, iv in lot.intervals.items():
            per_resource[rid].append(iv)
    for rid, intervals in per_resource.items():
        facts = problem.resources[rid]
        fixed = [(m.new_fixed_size_interval_var(s, e - s, f"block[{rid},{s}]"), d)
                 for s, e, d in facts.load if e > s]
        if facts.capacity <= 1:
            if len(intervals) + len(fixed) > 1:
                m.add_no_overlap(intervals + [iv for iv, _ in fixed])
        elif len(intervals) + sum(d for _, d in fixed) > facts.capacity:
            m.add_cumulative(intervals + [iv for iv, _ in fixed],
                             [1] * len(intervals) + [d for _, d in fixed], facts.capacity)


def step_sites(mv: ModelVars, order: str, step: StepFacts) -> dict[str, cp_model.IntVar]:
    """Literal per factory: some lot of ``step`` runs there (cached in ``ModelVars.sites``)."""
    key = (order, step.id)
    if key not in mv.sites:
        lots = mv.step_lots(order, step.id)
        sites = {}
        for f in sorted({o.factory for o in step.options}):
            lit = mv.model.new_bool_var(f"site[{order},{step.id},{f}]")
            for lot in lots:
                mv.model.add_implication(lot.at[f], lit)
            mv.model.add_bool_or([lot.at[f] for lot in lots]).only_enforce_if(lit)
            sites[f] = lit
        mv.sites[key] = sites
    return mv.sites[key]


def add_precedence_and_transport(mv: ModelVars, problem: Problem) -> None:
    """Hard: every lot of a step starts after every lot of each predecessor has arrived: its end,
    plus travel time when the two lots sit in different factories. Soft: each truck used (from
    factory, to factory, step pair) is priced in ``add_objective``.

    Travel time is linear in the predecessor lot's factory literals (exactly one is true), so
    a lot pair needs one constraint per destination factory, not one per factory pair.
    """
    m = mv.model
    for order in problem.orders:
        for step in order.steps:
            for pred_id in step.after:
                pred = order.step(pred_id)
                for a in mv.step_lots(order.id, pred_id):
                    for b in mv.step_lots(order.id, step.id):
                        m.add(b.start >= a.end).only_enforce_if([a.present, b.present])
                        for g, at_g in b.at.items():
                            delay = [(problem.leg(f, g).minutes, at_f)
                                     for f, at_f in a.at.items() if f != g]
                            if any(minutes for minutes, _ in delay):
                                m.add(b.start >= a.end + sum(t * lit for t, lit in delay)
                                      ).only_enforce_if([a.present, at_g])
                from_sites = step_sites(mv, order.id, pred)
                to_sites = step_sites(mv, order.id, step)
                for f, at_f in from_sites.items():
                    for g, at_g in to_sites.items():
                        if f != g:
                            key = (order.id, pred_id, step.id, f, g)
                            mv.legs[key] = m.new_bool_var(f"leg[{key}]")
                            m.add_bool_or([~at_f, ~at_g, mv.legs[key]])


def add_max_factories(mv: ModelVars, problem: Problem) -> None:
    """Hard: an order's lots use at most ``max_factories`` distinct factories."""
    m = mv.model
    for order in problem.orders:
        factories = sorted({o.factory for s in order.steps for o in s.options})
        if len(factories) <= order.max_factories:
            continue
        used = {f: m.new_bool_var(f"uses[{order.id},{f}]") for f in factories}
        for step in order.steps:
            for f, lit in step_sites(mv, order.id, step).items():
                m.add_implication(lit, used[f])
        m.add(sum(used.values()) <= order.max_factories)


def add_due_dates(mv: ModelVars, problem: Problem) -> None:
    """Soft: minutes an order completes after its due date (tardiness), whether it is late at
    all (only when the objective prices late orders), and the makespan."""
    m, h = mv.model, problem.horizon
    mv.makespan = m.new_int_var(0, h, "makespan")
    for order in problem.orders:
        done = m.new_int_var(0, h, f"completion[{order.id}]")
        waited_for = {p for s in order.steps for p in s.after}
        # Every other lot precedes some lot of a final step, so the final steps' lots suffice.
        for step in (s for s in order.steps if s.id not in waited_for):
            for lot in mv.step_lots(order.id, step.id):
                m.add(done >= lot.end).only_enforce_if(lot.present)
        late = m.new_int_var(0, max(0, h - order.due_min), f"tardiness[{order.id}]")
        m.add(late >= done - order.due_min)
        mv.completion[order.id], mv.tardiness[order.id] = done, late
        m.add(mv.makespan >= done)
        if problem.weights.late_order and order.due_min < h:
            missed = m.new_bool_var(f"late[{order.id}]")
            m.add(late == 0).only_enforce_if(~missed)
            mv.late[order.id] = missed


def add_load_cuts(mv: ModelVars, problem: Problem) -> None:
    """Redundant, for the bound: the lots a resource runs fit between minute 0 and the makespan
    (capacity 1: one after another; a line: ``capacity`` side by side). Minute 0, not the
    resource's first free minute: an unused resource must not push the makespan up.

    Without it CP-SAT's makespan bound comes only from chains of steps: on FJSP mk07 (unit
    orders, so every lot is one fixed-size interval) the bound after 10 s was 44 against an
    optimum of 139; with it the same model proves 139 in 6 s, as the classical FJSP model does
    with the same cut. Only lots of a constant duration (single-lot steps) are summed; the
    others count as zero, which keeps the cut valid.
    """
    if not problem.weights.makespan or mv.makespan is None:
        return
    terms: dict[str, list[cp_model.LinearExprT]] = {}
    for order in problem.orders:
        if not fixed_quantity(problem, order):
            continue
        for step in order.steps:
            for lot in mv.step_lots(order.id, step.id):
                for opt in step.options:
                    terms.setdefault(opt.resource, []).append(
                        opt.duration_min(order.quantity) * lot.on[opt.resource])
    for rid, load in terms.items():
        mv.model.add(sum(load) <= max(1, problem.resources[rid].capacity) * mv.makespan)


def add_lot_costs(mv: ModelVars, problem: Problem) -> None:
    """Soft: the price of each lot in fen under the order's mode, or the resource's cheapest.

    With several offered modes the lot picks one through a literal; minimising then selects
    the cheapest, as ``pricing.cheapest_mode`` does at extraction.
    """
    m = mv.model
    for order in problem.orders:
        for step in order.steps:
            for lot in mv.step_lots(order.id, step.id):
                lot.cost_fen = m.new_int_var(0, _cost_bound(problem, order, step), "cost")
                for opt in step.options:
                    _price_on(mv, lot, opt, order.quantity)
                # Redundant, for the bound: no option prices a piece below the cheapest rate.
                m.add(lot.cost_fen >= _cheapest_fen_per_piece(step) * lot.quantity)


def _cheapest_fen_per_piece(step: StepFacts) -> int:
    """Lowest marginal price of a piece over the step's options and modes (setup ignored)."""
    return min((t.fen_per_piece + t.fen_per_min * o.run_num // o.run_den
                for o in step.options for t in o.prices), default=0)


def _cost_bound(problem: Problem, order: OrderFacts, step: StepFacts) -> int:
    return max(p.fen(order.quantity, problem.horizon) for o in step.options for p in o.prices)


def _price_on(mv: ModelVars, lot: LotVars, opt: Option, quantity: int) -> None:
    m, on = mv.model, lot.on[opt.resource]
    assert lot.cost_fen is not None
    duration = lot.duration if lot.duration is not None else opt.duration_min(quantity)
    lits = [on] if len(opt.prices) == 1 else [m.new_bool_var("mode") for _ in opt.prices]
    if len(lits) > 1:
        m.add(sum(lits) == on)
    for term, lit in zip(opt.prices, lits, strict=True):
        m.add(lot.cost_fen >= term.fen_per_min * duration + term.fen_per_piece * lot.quantity
              ).only_enforce_if(lit)


def cost_units(mv: ModelVars, problem: Problem) -> cp_model.LinearExpr:
    """Soft: money in objective units (lots in fen x weight, trucks likewise)."""
    w = problem.weights.cost
    terms: list[cp_model.LinearExprT] = []
    terms += [w * lot.cost_fen for lot in mv.lots.values() if lot.cost_fen is not None]
    terms += [w * problem.leg(k[3], k[4]).cost_fen * lit for k, lit in mv.legs.items()]
    return cp_model.LinearExpr.sum(terms)


def unplaced_units(mv: ModelVars) -> cp_model.LinearExprT:
    return sum(UNPLACED_PENALTY * (1 - p) for p in mv.placed.values())


def add_objective(mv: ModelVars, problem: Problem) -> None:
    """Soft: weighted cost (lots + trucks), tardiness, makespan, a price per late order, and a
    huge price per unplaced order so an order that cannot fit drops out instead of making the
    whole batch infeasible."""
    w = problem.weights
    terms: list[cp_model.LinearExprT] = []
    if w.cost:
        terms.append(cost_units(mv, problem))
    if w.tardiness:
        terms += [w.tardiness * t for t in mv.tardiness.values()]
    if w.makespan and mv.makespan is not None:
        terms.append(w.makespan * mv.makespan)
    terms += [w.late_order * missed for missed in mv.late.values()]
    terms.append(unplaced_units(mv))
    mv.model.minimize(sum(terms))


def build_model(problem: Problem, *, must_place: bool = False) -> ModelVars:
    """The whole model: variables, then one call per constraint family."""
    mv = ModelVars(cp_model.CpModel())
    create_lots(mv, problem, must_place=must_place)
    add_assignment(mv, problem)
    add_lot_sizes(mv, problem)
    add_windows(mv, problem)
    add_no_overlap(mv, problem)
    add_precedence_and_transport(mv, problem)
    add_max_factories(mv, problem)
    add_due_dates(mv, problem)
    add_load_cuts(mv, problem)
    if problem.weights.cost:
        add_lot_costs(mv, problem)
    add_objective(mv, problem)
    return mv
