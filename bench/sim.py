"""Benchmark: a market-scale simulation (30 simulated days, 200 factories, 5,000 orders).

Measures the wall time of the whole simulation per policy on the shipped example market scaled
up, with the per-order solver budget stated in the output, and the KPIs of each policy so the
speed is read next to what it buys. The baselines are greedy and the single-factory status
quo, measured in the same run on the same market; seeds 1-5 give the spread, and cpsat's own
longer budget on the first seed shows what the standard budget gives up. The numbers are kept
beside the section (``results/sim.json``) so the text can be re-rendered without a re-run
(``render_stored``; seeds run in separate processes merge there too).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import os
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.checked import CheckedSolve
from simulations import spread
from simulations.config import SimConfig, load_config, parse_config, read_raw, with_params
from simulations.generator import Market, generate
from simulations.kpis import CommonCost, Kpis, compare_common, order_outcomes, to_csv
from simulations.runner import PolicyRun, run_policies

EXAMPLE = Path(__file__).resolve().parents[1] / "simulations" / "examples" / "market.yaml"
RESULTS = Path(__file__).resolve().parent / "results" / "sim.md"
REPORT = Path(__file__).resolve().parent / "results" / "sim.html"

# The solver budget of the benchmark (per engine call): CP-SAT, 1 worker, deterministic time
# limit; orders are planned in batches every BATCH_MIN simulated minutes. 2 candidates per
# step (the engine's greedy start then looks at 8) and 0.002 s, down from 4 and 0.005 s: the
# engine's greedy start grows with the square of the candidates. Measured on a 1,000-order
# run (200 factories, 2026-11-23, CPU seconds of the cpsat policy): 4 / 0.005 s: 30.4 s,
# 859 filled, 1,141 CNY/order; 3 / 0.002 s: 24.4 s, 851, 1,142; 2 / 0.002 s: 15.4 s, 825,
# 1,193 (greedy with the same 2: 816 filled, 1,252 CNY/order).
# 2026-12-02: 4 candidates and each order planned on arrival (batch_min 0, as the shipped
# example and the platform do), was 2 candidates and hourly batches: see DIAGNOSIS_MARKET.
# 2026-12-02 06:10: a finish-time price of 25 CNY/h times the booked share of the capacity an
# order could use (solver.congestion_per_hour): see DIAGNOSIS_MARKET.
# 2026-12-03: cpsat's prices planned at 1 + 1.0 x the share of each resource's time already
# sold (solver.scarcity_markup): see DIAGNOSIS_SCARCITY.
BENCH_SOLVER = {"solver.deterministic_time_s": 0.002, "solver.candidates_per_step": 4,
                "solver.max_lots_per_step": 2, "solver.batch_min": 0,
                "solver.lookahead_after_due_days": 2, "solver.congestion_per_hour": 25.0,
                "solver.scarcity_markup": 1.0}


# Where the time goes (pyinstrument, cpsat, the benchmark market cut to 2 days of arrivals
# (376 orders, seed 1) plus 10 to drain, the budget above, 2026-12-02, 1-minute load 10-14).
# Measured once by hand, not by run().
PROFILE = (
    "Profile of the cpsat run at this budget (pyinstrument; 200 factories, seed 1, 2 days of "
    "arrivals, 376 orders, 389 engine calls; 2026-12-02, 1-minute load 10-14, so 188.9 s "
    "wall for 28.6 s CPU; shares of the whole run): 85 % inside `matching.engine.solve`: "
    "CP-SAT 41 % (`CpSolver.solve` 28 %, model build 13 %, of which precedence and "
    "transport 4 %), `build_problem` 26 % (free intervals and load of every capable resource "
    "10 %, options 4 %), the two greedy plans 12 % (`_room_for` 3 %), choosing between them "
    "(`_better`, which turns each into a plan) 3 %; the simulation's snapshots 11 %; SimPy, "
    "breakdowns' replans and KPIs the rest. The CP-SAT search at 0.002 s deterministic time "
    "seldom leaves its hint (0.02 s gave the same KPIs, below), so most of its 28 % is the "
    "fixed cost of loading and presolving a model per order: the first place to cut CPU."
)

# Why cpsat missed its targets on the benchmark market, measured by hand on the benchmark
# market cut to 2 days of arrivals (200 factories, seed 1, 376 orders; 2026-12-02, 1-minute
# load 4-14 on 2 cores, CPU seconds), one change at a time against the old bench budget
# (2 candidates per step, 0.002 s, hourly batches).
DIAGNOSIS_MARKET = (
    "Why cpsat missed its targets on this market, and what changed the budget (the market cut "
    "to 2 days of arrivals, seed 1, 376 orders, one change at a time; measured by hand "
    "2026-12-02 at a 1-minute load of 4-14; filled / on time / cost per filled order / idle "
    "capacity used / CPU s). Old bench budget (2 candidates per step, 0.002 s, orders batched "
    "every 60 minutes): cpsat 349 / 78.5 % / 1,176.6 / 4.3 % / 11.0 s, greedy 350 / 78.2 % "
    "/ 1,240.6 / 4.3 % / 2.7 s: cost -5.2 %, target missed. Not the causes: a 10 times "
    "longer search (0.02 s: 350 / 78.2 % / 1,173.3), a heavier makespan weight (10 CNY/h: "
    "351 / 79.3 % / 1,162.8; 30 CNY/h: 349 / 75.5 % / 1,155.1), 3 lots per step (351 / "
    "76.9 % / 1,193.6). (1) The candidates: with 2 per step both policies lose orders and "
    "punctuality (4: cpsat 355 / 83.8 % / 1,178.6, greedy 357 / 85.1 % / 1,257.5; 6: cpsat "
    "361 / 87.5 % / 1,192.5 / 13.3 s, greedy 362 / 88.8 % / 1,259.2), but at any number cpsat "
    "stayed behind greedy on fills and on time and only 5-6 % cheaper. (2) The batch: in an "
    "hourly batch the engine picks one of its two greedy plans (earliest finish, or cheapest "
    "first with tardiness priced) for the whole batch by the batch's objective, and a search "
    "this short does not leave that hint; one order fewer or one late order in the cheaper "
    "plan throws away the savings of all the others. Planned on arrival (batch_min 0, as the "
    "shipped example and the platform's quotes do) the choice is made per order: 2 "
    "candidates: cpsat 350 / 80.3 % / 1,101.2 / 4.4 % / 12.7 s, greedy 347 / 79.8 % / "
    "1,276.0 / 4.3 % / 4.2 s (cost -13.7 %, every target met); 4 candidates: cpsat 355 / "
    "87.5 % / 1,063.0 / 4.5 % / 17.5 s, greedy 353 / 85.1 % / 1,237.7 / 4.4 % / 4.3 s (cost "
    "-14.1 %, every target met). The bench now plans each order on arrival with 4 candidates "
    "per step. What that budget gives up (same cut): the policy's longer budget, 6 "
    "candidates and 0.02 s, gave cpsat 364 / 91.8 % / 1,061.4 / 4.8 % / 57.0 s CPU against "
    "355 / 87.5 % / 1,063.0 / 4.5 % / 17.5 s (greedy with 6 candidates: 360 / 88.3 % / "
    "1,287.0 / 4.5 % / 6.6 s): the standard budget **gives up** 9 orders and 4.3 points on "
    "time, at a third of the CPU. Not measured separately: which quote the customer takes "
    "(the simulated platform books the engine's best plan by price plus tardiness and "
    "late-order penalty) and capacity taken now that later orders need."
    "\n\nThe 13 plans the checker rejected on service lines (capacity > 1) in the earlier "
    "run were the checker's error, not the engine's: a simulation's snapshot can hold more "
    "bookings on a line than it has slots (a lot running late on the shop floor beside the "
    "lots planned after it), and the checker counted that excess against the plan even where "
    "the plan had no lot; it was hidden only when a one-lot machine of the same snapshot also "
    "had overlapping bookings, which is why a second run had none. The checker now blames a "
    "plan only for its own lots at an instant that is full "
    "(`tests/matching/plan_checker.py`, `_check_capacity`; tests in "
    "`tests/bench/test_checked.py` and `tests/matching/test_plan_checker.py` reproduce the "
    "case). The engine was right: it counts a line's bookings capped at its capacity "
    "(`matching/build.py`, `_booking_profile`). It did count, until 2026-12-04, the bookings "
    "lying in a line's closed hours on top of those hours, which made CP-SAT's model "
    "infeasible (not the plans wrong: the engine then returned its valid greedy hint); see "
    "the standard run's status."
)


# Why cpsat was still less punctual than greedy at full size, and the fix: measured by hand
# on the benchmark market cut to 5 days of arrivals (200 factories; seed 1 to choose, seed 2
# to check; 2026-12-02 05:48-06:20 UTC, 1-minute load 5-12 on 2 cores, CPU seconds).
DIAGNOSIS_CONGESTION = (
    "Why cpsat was still less punctual than greedy at full size, and what the congestion price "
    "does about it (it meets every target on the cut it was chosen on; at full size it closes "
    "only about half of the gap on time: see how far the standard run got, below; the market "
    "cut to 5 days of arrivals, 4 candidates, each order planned on arrival; seed 1, 866 "
    "orders, to choose; seed 2, 820 orders, to check; measured by hand 2026-12-02 05:48-06:20 "
    "UTC at a 1-minute load of 5-12; filled / on time / cost per filled order / idle capacity "
    "used / CPU s). Seed 1: greedy 806 / 80.6 % / 1,283.7 / 8.10 % / 13.8 s; cpsat without "
    "a congestion price 808 / 79.0 % / 1,130.9 / 8.28 % / 40.3 s: the full-size miss (-1.6 "
    "points) in small. Not the cause: breakdowns and missing slack. Of cpsat's 124 late "
    "orders 117 were late in their plan already (greedy: 108 of 108), 14 had been re-planned "
    "after a breakdown; planning against an internal due date 20 % of the lead window early "
    "(`solver.due_margin=0.2`) gave 813 / 80.1 % / 1,148.7 / 8.29 %, still behind. The "
    "cause: capacity taken now that later orders need. An order the market cannot finish by "
    "its due date is late because earlier orders hold the time it needs; the cheapest plan "
    "ends later (mean lead time 65.4 h against 50.4 h), so it holds later capacity that the "
    "next orders need while today's idle time, which no later order can use, goes unsold. A "
    "flat price on finish time trades cost for punctuality (`objective.makespan_per_hour` "
    "10: 805 / 81.3 % / 1,152.9 / 8.17 %; 15: 815 / 80.7 % / 1,189.2 / 8.34 %; 20: 816 / "
    "84.2 % / 1,215.8 / 8.42 %, cost only -5.3 %; 10 with the 20 % margin: 811 / 81.4 % / "
    "1,157.5 / 8.21 %), paying it also where the market is quiet. A price that grows with "
    "the market's own load where the order would run (`solver.congestion_per_hour`: 25 "
    "CNY/h times the share of the published capacity of the order's processes, up to its "
    "due date, that bookings already hold; on this cut that share was 0.03 / 0.10 / 0.21 at "
    "the 10th / 50th / 90th percentile of the calls, so 1-5 CNY/h on top of the 2 CNY/h "
    "makespan price) gave 814 / 80.8 % / 1,123.5 / 8.25 % / 42.3 s: more filled, more on "
    "time, cheaper (-12.5 %) and as much idle capacity as greedy, every target met. Seed 2 "
    "(not used to choose): greedy 745 / 78.4 % / 1,306.7 / 7.47 %; cpsat without the price "
    "756 / 78.3 % / 1,168.2 / 7.67 % (on time missed by 0.1 point); flat 10 CNY/h 753 / "
    "78.7 % / 1,204.6 / 7.72 % (cost -7.8 %, missed); congestion price 758 / 80.0 % / "
    "1,186.1 / 7.76 % / 36.8 s: on time +1.6 points, but cost -9.2 %, **short of -10 %**. "
    "The price is now the benchmark's and the shipped example's setting. The search itself "
    "still earns its keep at 0.002 s: on the 2-day cut CP-SAT improved its greedy hint in "
    "94 of 362 calls, by 6.1 % of the objective on average (10,058 CNY in all), so skipping "
    "it where the hint is not proven optimal would give up cost."
)



# What the scarcity price does, measured by hand on the benchmark market cut to 5 days of
# arrivals (200 factories; seed 1 to choose, seed 2 to check; 2026-12-03 15:04-15:15 UTC,
# 1-minute load 1.2-5.6 on 2 cores, CPU seconds), then once at full size (seed 1).
DIAGNOSIS_SCARCITY = (
    "What the scarcity price does (`solver.scarcity_markup`, cpsat only: each resource's prices, "
    "in every mode, planned at 1 + markup x the share of its own published time up to the "
    "order's due date that bookings already hold, and every lot billed at the market's own "
    "price; `simulations/policies.py`, `scarcity_priced` and `at_market_prices`). Why: the "
    "cheapest plan takes the cheap capacity first, and each order after it finds that capacity "
    "sold further out, so it waits for it (late, holding time the next orders need) or pays a "
    "dearer resource; a price that rises as a resource is sold spreads the load over idle "
    "resources while the cheap ones still have time for the orders to come. Measured by hand "
    "2026-12-03 15:04-15:15 UTC at a 1-minute load of 1.2-5.6, the market cut to 5 days of "
    "arrivals, the bench budget above with the congestion price 25 CNY/h, by "
    "`run_policies` without the plan checker; filled / on time / cost per filled order / idle "
    "capacity used / CPU s. Seed 1 (866 orders, to choose): greedy 806 / 80.6 % / 1,283.65 / "
    "8.10 % / 18.3 s (the same to the order as on 2026-12-02); cpsat without the markup "
    "814 / 81.1 % / 1,141.74 / 8.38 % / 51.6 s (cost -11.1 %); markup 1.0: 816 / 83.0 % / "
    "1,105.65 / 8.44 % / 58.3 s (cost -13.9 %, on time +2.4 points, every target met); markup "
    "2.0: 816 / 84.3 % / 1,128.25 / 8.50 % / 58.1 s (cost -12.1 %); markup 1.0 with the "
    "congestion price cut to 10 CNY/h: 821 / 84.1 % / 1,161.51 / 8.60 % / 56.2 s (cost -9.5 %, "
    "missed). Seed 2 (820 orders, not used to choose), markup 1.0: cpsat 755 / 80.0 % / "
    "1,122.26 / 7.75 % / 56.6 s against greedy 745 / 78.4 % / 1,306.65 / 7.47 % / 17.7 s: "
    "cost -14.1 %, every target met (without the markup, 2026-12-02: on time 80.0 % but cost "
    "-9.2 %, missed). The markup cost 13 % more CPU on seed 1 (58.3 against 51.6 s). "
    "At full size (seed 1, 4,974 orders; `run` with the plan checker, one process at a time, "
    "2026-12-03 15:14-15:24 UTC at a 1-minute load of 1.5-4.9; stored in "
    "`results/sim_runs3/`): cpsat 4,405 / 64.8 % / 1,154.98 / 16.5 % / 343.1 s CPU (checker "
    "4.7 s; 386.3 s wall; 5,315 engine calls) against greedy 4,233 / 59.2 % / 1,259.34 / "
    "15.3 % / 120.3 s (re-measured: the same to the order as on 2026-12-02, as on both cuts). "
    "Fills +172, on time +5.6 points (with the congestion price alone, 2026-12-02: 4,286 / "
    "58.5 %, -0.7 points), idle capacity used +1.2 points: met; but cost per filled order -8.3 "
    "% (was -8.0 %; -10 % needs 1,133.41): the cost target is **missed** at full size. Not "
    "measured: why the saving shrinks from -14 % on the cut to -8 % at full size (whether the "
    "172 extra filled orders are the dear ones, or the markup, on a market where most capacity "
    "is sold to a similar share, stops telling one resource from another and only raises every "
    "price). CPU: 343.1 s against 229.3 s for cpsat without the markup on 2026-12-02 at a "
    "load of 5-19 (not a like-for-like pair; on the cut the markup cost 13 % more), so the "
    "<= 120 s target stays **missed**, by about 3x. "
    "The shipped example (its own size, 30 factories, 3 days; seeds 1-5, each policy on its "
    "own with the strict plan checker, 2026-12-03 15:29-15:34 UTC at a 1-minute load of "
    "2.1-4.2; summary in `results/sim_example_markup/markup1.md`), cpsat with markup 1.0 / "
    "greedy, filled / on "
    "time / cost / idle used: seed 1 64 / 89.1 % / 1,134.81 / 6.27 % against 64 / 85.9 % / "
    "1,474.84 / 6.07 %; seed 2 36 / 83.8 % / 1,362.10 / 3.64 % against 36 / 83.8 % / "
    "1,693.99 / 3.55 %; seed 3 63 / 82.8 % / 1,363.93 / 5.21 % against 62 / 75.0 % / "
    "1,634.06 / 4.82 %; seed 4 47 / 83.3 % / 1,096.77 / 3.43 % against 47 / 79.2 % / "
    "1,280.22 / 3.34 %; seed 5 70 / 83.8 % / 1,626.44 / 8.70 % against 69 / 83.8 % / "
    "1,816.56 / 8.05 % (cost -10.5 %, the closest call): **25 of 25** targets met (single "
    "at most 35.1 % on time), was 23 (2026-12-02, load 7-15). cpsat without the markup in "
    "the same quarter hour: 64 / 85.9 % / 1,118.66; 37 / 89.2 % / 1,569.84 (cost -7.3 %); "
    "63 / 73.4 % / 1,315.24 (on time below greedy); 47 / 79.2 % / 1,095.04; 72 / 81.1 % / "
    "1,754.59 (on time and cost -3.4 % missed): 21 of 25. On seeds 2 and 5 part of the "
    "markup's saving is orders it does not fill: without it cpsat fills one order more on "
    "seed 2 (5,759 CNY) and two on seed 5 (6,001 CNY each on average); on the orders both "
    "fill the markup is -6.3 % and -0.4 %, and +1.4 / +4.0 / +0.2 % on seeds 1, 3, 4 while it "
    "puts 2-5 more of those orders on time. cpsat CPU over the 5 seeds 64.3 s with the markup "
    "against 68.8 s without. On the example's own seed 7 (71 orders): 71 / 78.9 % / 1,326.80 "
    "/ 7.28 % against greedy 68 / 71.8 % / 1,353.28 / 6.02 %, cost -2.0 %, missed (without "
    "the markup 71 / 73.2 % / 1,265.23 / 7.27 %, -6.5 %, missed too): 4 of 5 either way; "
    "on the 68 orders both policies fill cpsat is -11.3 %, and its 3 extra fills cost "
    "4,188.67 CNY each on average: the dear extra orders carry the miss. "
    "Why the saving shrinks at full size: the stored full-size runs keep KPIs only, no "
    "per-order outcome, so it is read on the 5-day cut instead (seed 1, re-run 2026-12-03 "
    "15:37-15:41 UTC at a load of 3-8, the same KPIs to the order as above; per-order "
    "outcomes read by a one-off script, not kept). On the 784 orders both policies fill, "
    "cpsat with "
    "markup 1.0 costs 1,055.33 against greedy's 1,245.31 (-15.3 %); its 32 fills greedy does "
    "not make cost 2,338.64 on average (greedy's 22 of its own: 2,649.87), so on the cut the "
    "extra fills cost it 1.4 points. The saving on the common orders shrinks as the market "
    "fills, by day of arrival: -18.8 / -16.1 / -17.4 / -11.6 / -10.3 % (days 0-4); without "
    "the markup -17.9 / -16.1 / -12.7 / -3.8 / -8.7 % (789 common orders, -12.5 %; 25 extra "
    "fills at 2,417.24). So the shrinking is the fuller market's, not the markup's (the "
    "markup slows it); a 30-day run spends most of its days fuller than day 4 of the cut, and "
    "the plain share, high on every resource there, raises every price alike. "
    "One variant tried on that reading (`solver.scarcity_relative`: the markup, 1.0, on the "
    "share sold above the mean share of the resource's process, floored at 0, so only what "
    "is sold more than its peers is marked up; cut seed 1, 2026-12-03 15:42-15:43 UTC, load "
    "2.7-5.0): 815 / 81.1 % / 1,139.13 / 8.44 % / 63.3 s CPU (cost -11.3 %, on time +0.5 "
    "points) against the plain share's 816 / 83.0 % / 1,105.65 / 8.44 % / 58.2 s: worse on "
    "cost and on time, and on the 782 common orders -13.9 % against -15.3 % (by day -19.3 / "
    "-15.6 / -14.6 / -6.2 / -10.3 %), its 33 extra fills at 2,975.99. Not tried on seed 2 "
    "nor at full size; the plain share stays the setting."
)


def bench_config(factories: int, orders: int, days: float, extra: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    raw = read_raw(EXAMPLE)
    params: dict[str, Any] = {"factories": factories, "days": days,
                              "orders_per_day": orders / days, "drain_days": 10.0,
                              **BENCH_SOLVER, **(extra or {})}
    return with_params(raw, params)


def _measure(cfg: SimConfig, market: Market, name: str, checker: CheckedSolve
             ) -> tuple[PolicyRun, dict[str, Any]]:
    """One policy on one market: its run and the wall time, CPU time and engine time it took."""
    t0, c0, k0 = time.perf_counter(), time.process_time(), checker.check_cpu_s
    (run_,) = run_policies(cfg, [name], market=market, solver=checker)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return run_, {"wall_s": wall, "cpu_s": cpu, "check_cpu_s": checker.check_cpu_s - k0,
                  "solver_s": run_.result.solver_wall_s,
                  "engine_s": run_.result.engine_wall_s, "calls": run_.result.engine_calls,
                  "kpis": run_.kpis, "events": len(run_.result.log),
                  "load": os.getloadavg()[0]}


def outcomes_path(out: Path, seed: int | str, policy: str) -> Path:
    """Where ``run`` keeps a run's per-order outcomes (gzipped CSV), beside its JSON."""
    return out.parent / f"{out.stem}_orders" / f"seed{seed}_{policy}.csv.gz"


def write_outcomes(path: Path, run_: PolicyRun) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime 0: the same run gives the same bytes
    path.write_bytes(gzip.compress(to_csv(order_outcomes(run_.result)).encode(), mtime=0))


def read_costs(path: Path) -> dict[str, float]:
    """Order -> cost of the filled orders of a stored outcomes file."""
    rows = csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode()))
    return {r["order"]: float(r["cost_cny"]) for r in rows if r["cost_cny"]}


def common_costs(stored: Sequence[Path], seeds: Sequence[int], a: str = "cpsat",
                 b: str = "greedy") -> dict[int, CommonCost]:
    """``compare_common`` of ``a`` and ``b`` on every seed where both runs' outcomes are kept
    beside one of the ``stored`` JSON files (runs stored before 2026-12-04 kept none). As in
    ``_merged``, a later file's run of a seed and policy replaces an earlier one's."""
    found = {}
    newest_first = list(reversed(stored))
    for sd in seeds:
        pa = next((q for p in newest_first if (q := outcomes_path(p, sd, a)).exists()), None)
        pb = next((q for p in newest_first if (q := outcomes_path(p, sd, b)).exists()), None)
        if pa is not None and pb is not None:
            found[sd] = compare_common(read_costs(pa), read_costs(pb))
    return found


def common_lines(common: dict[int, CommonCost]) -> list[str]:
    """The cost per filled order of cpsat and greedy on the orders both filled."""
    if not common:
        return []
    parts = [f"seed {sd}: {c.both:,} orders, {c.a_cost:,.2f} against {c.b_cost:,.2f} CNY "
             f"({c.change:+.1%}); cpsat's {c.only_a} fills greedy did not make "
             f"{c.only_a_cost:,.2f} on average, greedy's {c.only_b} of its own "
             f"{c.only_b_cost:,.2f}" for sd, c in sorted(common.items())]
    return ["", "Cost per filled order on the orders both cpsat and greedy filled (the "
            "per-order outcomes each run keeps in `<run>_orders/` beside its JSON), because the "
            "policy that fills more also takes on the orders the other could not place: "
            + "; ".join(parts) + ". The target above is judged on every filled order, as "
            "defined, not on this comparison."]


def _row(label: str, r: dict[str, Any]) -> str:
    k = r["kpis"]
    check = r.get("check_cpu_s")  # runs stored before 2026-12-02 02:15 UTC did not time it
    return (f"| {label} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
            f"{'-' if check is None else f'{check:.1f}'} | {r['engine_s']:.1f} | "
            f"{r['solver_s']:.1f} | {r['calls']} | {k.orders} | {k.filled} | "
            f"{k.on_time_rate:.1%} | {k.mean_lead_time_h:.1f} | {k.cost_per_order:,.2f} | "
            f"{k.factories_per_order:.2f} | {k.idle_capacity_used:.1%} | {r['load']:.1f} |")


def run(*, factories: int = 200, orders: int = 5000, days: float = 30.0,
        policies: list[str] | None = None, out: Path = RESULTS,
        extra: dict[str, Any] | None = None, console: Console | None = None,
        seeds: Sequence[int] | None = None, report: Path | None = None,
        longer: dict[str, Any] | None = None,
        report_stored: Sequence[Path] = ()) -> dict[str, Any]:
    """Run the benchmark on the markets of ``seeds`` (default: the config's own seed), write
    the markdown section (and with ``report`` the HTML report), return the measured numbers.

    ``longer``: solver parameters of the policy's own longer budget, run for cpsat on the first
    seed's market, so the section states what the standard budget gives up.
    ``report_stored``: runs of the same configuration stored by other processes (other seeds
    run side by side); their KPIs join the report's spread over seeds, while its charts come
    from this process's first seed (charts need the runs' event logs, which are not stored).
    """
    console = console or Console()
    names = policies or ["cpsat", "greedy"]
    cfg = parse_config(bench_config(factories, orders, days, extra), "bench config")
    seeds = list(seeds) if seeds else [cfg.seed]
    # Every plan of every policy through the independent checker; broken ones are counted.
    checker = CheckedSolve(strict=False)
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = {"generate_s": {}, "by_seed": {}, "longer": None}
    by_seed: dict[int, list[Kpis]] = {}
    first: list[PolicyRun] = []
    markets: dict[int, Market] = {}
    out.parent.mkdir(parents=True, exist_ok=True)

    measured_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def write() -> None:  # after every policy, so a long run cut short still reports
        m = markets[seeds[0]]
        stored = {"measured": measured_at, "size": [factories, orders, days],
                  "extra": extra or {}, "longer_params": longer,
                  "load": [load_before, os.getloadavg()[0]],
                  "market": {"factories": len(m.factories),
                             "resources": sum(len(f.resources) for f in m.factories),
                             "arrivals": len(m.arrivals), "outages": len(m.outages)},
                  "checker": {"plans": checker.plans, "orders": checker.orders,
                              "rejected": checker.rejected, "findings": checker.findings},
                  "generate_s": results["generate_s"],
                  "by_seed": {sd: {n: _jsonable(r) for n, r in per.items()}
                              for sd, per in results["by_seed"].items()},
                  "longer": None if results["longer"] is None else _jsonable(results["longer"])}
        out.with_suffix(".json").write_text(json.dumps(stored, indent=1) + "\n",
                                            encoding="utf-8")
        render_stored(out.with_suffix(".json"), out)
        if report is not None and first:
            from simulations.report import render_report

            stored_names = ", ".join(f"`{p.parent.name}/{p.name}`" for p in report_stored)
            provenance = (
                f"Measured {measured_at} by `bench/sim.py` (`run`, the budget of "
                f"BENCHMARKS.md): the cards, key figures and charts are seed {seeds[0]}'s runs "
                "in this process"
                + (f"; the spread over seeds adds the stored runs {stored_names} (this "
                   "process's own run of a seed and policy wins)" if report_stored else "")
                + ".")
            report.write_text(render_report(first, title="ShareFab market simulation: the "
                                            "benchmark market",
                                            by_seed=_with_stored(by_seed, report_stored),
                                            provenance=provenance),
                              encoding="utf-8")

    for seed in seeds:
        t0 = time.perf_counter()
        market = markets[seed] = generate(cfg, seed)
        results["generate_s"][seed] = time.perf_counter() - t0
        measured: dict[str, Any] = {}
        results["by_seed"][seed] = measured
        runs: list[PolicyRun] = []
        by_seed[seed] = []
        for name in names:
            run_, measured[name] = _measure(cfg, market, name, checker)
            write_outcomes(outcomes_path(out, seed, name), run_)
            runs.append(run_)
            by_seed[seed].append(run_.kpis)
            first = first or runs
            write()
            k = run_.kpis
            console.print(f"seed {seed} {name}: {measured[name]['wall_s']:.1f} s wall, "
                          f"{measured[name]['cpu_s']:.1f} s CPU, {k.orders} orders, "
                          f"{k.filled} filled, on time {k.on_time_rate:.1%}, "
                          f"cost/order {k.cost_per_order:,.2f}, idle used "
                          f"{k.idle_capacity_used:.1%}")
            if longer and name == "cpsat" and seed == seeds[0]:
                # right after the standard run, so the budget's price is known early
                long_cfg = parse_config(bench_config(factories, orders, days,
                                                     {**(extra or {}), **longer}),
                                        "bench config (longer budget)")
                _, results["longer"] = _measure(long_cfg, market, "cpsat", checker)
                write()
                console.print(f"seed {seed} cpsat, longer budget {longer}: "
                              f"{results['longer']['cpu_s']:.1f} s CPU")
    write()
    console.print(f"wrote {out}")
    results["first_runs"] = first  # the first seed's runs, for a report over merged seeds
    return results


def _with_stored(by_seed: dict[int, list[Kpis]], stored: Sequence[Path]
                 ) -> dict[int, list[Kpis]]:
    """``by_seed`` with the KPIs of ``stored`` runs added: per seed and policy, this process's
    own run wins over a stored one."""
    if not stored:
        return by_seed
    merged: dict[int, dict[str, Kpis]] = {}
    for sd, per in _merged(stored)["by_seed"].items():
        merged.setdefault(int(sd), {}).update(
            {name: Kpis(**r["kpis"]) for name, r in per.items()})
    for sd, kpis in by_seed.items():
        merged.setdefault(sd, {}).update({k.policy: k for k in kpis})
    return {sd: list(per.values()) for sd, per in sorted(merged.items())}


def _jsonable(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "kpis": dataclasses.asdict(r["kpis"])}


def _merged(paths: Sequence[Path]) -> dict[str, Any]:
    """Stored runs of the same configuration as one: other seeds, or other policies of a seed
    (run side by side in separate processes)."""
    parts = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    d = dict(parts[0])
    d.setdefault("measured_until", d["measured"])
    for other in parts[1:]:
        if other["size"] != d["size"] or other["extra"] != d["extra"]:
            raise ValueError("stored runs of different configurations")
        d["by_seed"] = {sd: {**d["by_seed"].get(sd, {}), **other["by_seed"].get(sd, {})}
                        for sd in {**d["by_seed"], **other["by_seed"]}}
        d["generate_s"] = {**d["generate_s"], **other["generate_s"]}
        if other["longer"] is not None:  # a later file's run replaces an earlier one's
            d["longer"], d["longer_params"] = other["longer"], other["longer_params"]
        d["load"] = [min(d["load"][0], other["load"][0]), max(d["load"][1], other["load"][1])]
        d["measured"] = min(d["measured"], other["measured"])
        d["measured_until"] = max(d["measured_until"],
                                  other.get("measured_until", other["measured"]))
        c, o = d["checker"], other["checker"]
        d["checker"] = {"plans": c["plans"] + o["plans"], "orders": c["orders"] + o["orders"],
                        "rejected": c["rejected"] + o["rejected"],
                        "findings": c["findings"] + o["findings"]}
    return d


def render_stored(stored: Path | Sequence[Path] = RESULTS.with_suffix(".json"),
                  out: Path = RESULTS) -> str:
    """The section from stored runs (``run`` keeps its numbers beside the markdown), so the
    prose can change without a re-run; the measurement date stays the run's."""
    paths = [stored] if isinstance(stored, Path) else list(stored)
    d = _merged(paths)
    factories, orders, days = d["size"]
    cfg = parse_config(bench_config(factories, orders, days, d["extra"]), "bench config")

    def back(r: dict[str, Any]) -> dict[str, Any]:
        return {**r, "kpis": Kpis(**r["kpis"])}

    results = {"generate_s": d["generate_s"], "longer": d["longer"] and back(d["longer"]),
               "by_seed": {int(sd): {n: back(r) for n, r in per.items()}
                           for sd, per in d["by_seed"].items()}}
    by_seed = {sd: [r["kpis"] for r in per.values()] for sd, per in results["by_seed"].items()}
    checker = CheckedSolve(plans=d["checker"]["plans"], orders=d["checker"]["orders"],
                           rejected=d["checker"]["rejected"],
                           findings=list(d["checker"]["findings"]))
    lines = _section(cfg, d["market"], results, by_seed, checker, d["longer_params"],
                     (factories, orders, days), tuple(d["load"]),
                     d["measured"] if d.get("measured_until", d["measured"]) == d["measured"]
                     else f"{d['measured']} to {d['measured_until']} (runs merged)",
                     common_costs(paths, sorted(by_seed)))
    text = "\n".join(lines) + "\n"
    out.write_text(text, encoding="utf-8")
    return text


def _section(cfg: SimConfig, market: dict[str, int], results: dict[str, Any],
             by_seed: dict[int, list[Kpis]], checker: CheckedSolve,
             longer: dict[str, Any] | None, size: tuple[int, int, float],
             load: tuple[float, ...], measured: str,
             common: dict[int, CommonCost] | None = None) -> list[str]:
    """The BENCHMARKS.md section of ``run``."""
    seeds = sorted(by_seed)
    s = cfg.solver
    gen = ", ".join(f"{v:.1f}" for v in results["generate_s"].values())
    lines = [
        "## Market simulation (`sharefab bench sim`)",
        "",
        f"Measured {measured} by `bench/sim.py` "
        f"(`run`, seeds {', '.join(map(str, seeds))}). {cfg.days:g} simulated days of "
        f"arrivals (+{cfg.drain_days:g} days to drain), {market['factories']} factories, "
        f"{market['resources']} machines and service lines, {market['arrivals']} orders on "
        f"seed {seeds[0]} (Poisson, {cfg.orders.per_day:.1f}/day), {market['outages']} "
        f"breakdowns; the shipped example market scaled up. Market generation: {gen} s.",
        "",
        f"Solver budget per engine call: CP-SAT with 1 worker, max_deterministic_time "
        f"{s.deterministic_time_s} s (wall-clock cap {s.time_limit_s} s), "
        f"{s.candidates_per_step} candidate resources per step, up to {s.max_lots_per_step} "
        f"lots per step, finish time priced at {s.congestion_per_hour:g} CNY/h times the "
        f"booked share of the capacity each order could use (`solver.congestion_per_hour`)"
        + (f", cpsat's prices planned at 1 + {s.scarcity_markup:g} x the share of each "
           "resource's time already sold and billed at the market's own "
           "(`solver.scarcity_markup`)" if s.scarcity_markup else "")
        + "; "
        f"orders are planned in batches every {s.batch_min} simulated minutes "
        f"(0 = each on arrival). Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"1-minute load average {load[0]:.1f} before and {load[1]:.1f} after the run; the "
        "machine is shared with other engineers' work, which slows every wall-clock number "
        "here (compare CPU s). Objective: tardiness "
        f"{cfg.objective.tardiness_per_hour:g} CNY/h, late order "
        f"{cfg.objective.late_order_penalty:g} CNY. {checker.plans:,} plans "
        f"({checker.orders:,} order plans) checked by `tests/matching/plan_checker.py`: "
        + (f"**{checker.rejected:,} broke a rule** (first: "
           + " | ".join(checker.findings[:3]) + ")." if checker.rejected else "all valid."),
        "",
        "`engine s`: time inside `matching.engine.solve` (candidates, greedy hint, model, search); "
        "`CP-SAT s`: what the engine reports as its solver's wall time (model build and "
        "search); the rest of `wall s` is the simulation itself (snapshots, SimPy, KPIs). "
        "`CPU s`: the process's CPU time for the same span (what the run costs without the "
        "other work on the machine; wall s / CPU s shows how much that work slowed it), "
        "including the independent checker's CPU time on every plan (`of which checker`, "
        "`-` where a run did not time it), which a user's run does not pay. "
        "`load`: the 1-minute load average when the run ended.",
        "",
        "| seed / policy | wall s | CPU s | of which checker CPU s | engine s | CP-SAT s | "
        "engine calls | orders | filled | on time | mean lead h | cost/order CNY | "
        "factories/order | idle capacity used | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for seed in seeds:
        for name, r in results["by_seed"][seed].items():
            lines.append(_row(f"{seed} {name}", r))
    if results["longer"] is not None:
        lines.append(_row(f"{seeds[0]} cpsat, longer budget", results["longer"]))
    lines += ["", *spread.markdown(by_seed), *common_lines(common or {})]
    std = results["by_seed"][seeds[0]].get("cpsat")
    if results["longer"] is not None and std is not None:
        lg, a, b = results["longer"], std["kpis"], results["longer"]["kpis"]
        gives_up = (b.filled > a.filled or b.on_time > a.on_time
                    or b.cost_per_order < a.cost_per_order * 0.99)
        lines += ["", f"The policy's own longer budget on seed {seeds[0]} ("
                  + ", ".join(f"`{k}={v}`" for k, v in (longer or {}).items())
                  + f"; {lg['cpu_s']:.1f} s CPU against {std['cpu_s']:.1f} s): filled "
                  f"{b.filled} vs {a.filled}, on time {b.on_time_rate:.1%} vs "
                  f"{a.on_time_rate:.1%}, cost per filled order {b.cost_per_order:,.2f} vs "
                  f"{a.cost_per_order:,.2f} CNY: the standard budget "
                  + ("**gives up quality**." if gives_up else
                     "gives up nothing (no more filled, no more on time, cost within 1 %).")]
    elif longer and results["longer"] is None:
        lines += ["", "The policy's own longer budget ("
                  + ", ".join(f"`{k}={v}`" for k, v in longer.items())
                  + ") was started on this market but did not finish: what the standard "
                  "budget gives up at this size is **not measured** by this run."]
    lines += ["", PROFILE, "", DIAGNOSIS_MARKET, "", DIAGNOSIS_CONGESTION, "",
              DIAGNOSIS_SCARCITY]
    cps = [results["by_seed"][sd]["cpsat"] for sd in seeds if "cpsat" in results["by_seed"][sd]]
    if cps and size == (200, 5000, 30.0):
        worst = max(cps, key=lambda r: r["wall_s"])
        worst_cpu = max(r["cpu_s"] for r in cps)
        untimed = any(r.get("check_cpu_s") is None for r in cps)
        own_cpu = max(r["cpu_s"] - (r.get("check_cpu_s") or 0.0) for r in cps)
        verdict = "meets" if worst["wall_s"] <= 120 else "misses"
        lines += ["", f"Target: <= 120 s for cpsat on 2 cores: {verdict} on wall time "
                  f"(slowest seed {worst['wall_s']:.1f} s wall at a load of "
                  f"{worst['load']:.1f}); CPU time, what it costs on a quiet machine: "
                  f"slowest seed {worst_cpu:.1f} s with the checker"
                  + (" (its share not timed in this run, so the run's own CPU time is not "
                     "known exactly)" if untimed else f", {own_cpu:.1f} s without it")
                  + f" ({'within' if own_cpu <= 120 else 'over'} 120 s)."]
    elif cps:
        lines += ["", "Not the standard size (200 factories, 5,000 orders over 30 days): the "
                  "<= 120 s target is not judged by this run."]
    return lines


# Why cpsat was less punctual than greedy, and what fixed it. Measured by hand on the shipped
# example (seeds 1-5; 2026-12-01, 1-minute load 8-16 on 2 cores), not by run_seeds().
DIAGNOSIS = (
    "Why the engine was less punctual than greedy (shipped example, measured 2026-12-01 under "
    "a 1-minute load of 8-16 on 2 cores). Seed 1 before the fix: cpsat 78.1 % on time, greedy "
    "85.9 %; every late order was late in its plan already (cpsat 13 of 13, greedy 9 of 9: "
    "execution and breakdowns added none), median planned slack before the due date 17.2 h "
    "against 42.6 h, mean lead time 74.4 h against 58.5 h. (1) The budget: CP-SAT's full "
    "presolve cost more wall time than its 0.02 s search (about 1 s a call under load); a "
    "light presolve (`light_presolve`, now the simulation's default) left punctuality behind "
    "greedy on 4 of 5 seeds (cpsat 89.1 / 73.0 / 70.3 / 75.0 / 78.4 % against greedy 85.9 / "
    "83.8 / 75.0 / 79.2 / 83.8 %), so the budget was not the cause. (2) The objective: "
    "lateness was priced at 50 CNY an hour only, so a slot one or two hours late won whenever "
    "it saved more than that, while the operator counts each late order as late. A price per "
    "late order (`objective.late_order_penalty`, 2,000 CNY in the example) made cpsat at least "
    "as punctual as greedy on 4 of 5 seeds (87.5 / 89.2 / 81.2 / 83.3 / 79.7 %). (3) CP-SAT's "
    "cheapest starting plan (the cheapest-first greedy, which a 0.02 s search rarely leaves) "
    "priced a lot's tardiness as if the order ended with that lot; counting the least time "
    "the following steps still need (`greedy.tail_min`) moved seed 5 from 79.7 to 82.4 % and "
    "seed 3 from 81.2 to 84.4 %, seeds 1 and 2 unchanged. Not measured separately: which "
    "quote a customer takes (the simulated platform books the engine's plan, it does not ask "
    "for quotes) and capacity taken now that later orders need."
    "\n\nThe congestion price (`solver.congestion_per_hour` 25, chosen on the benchmark market's "
    "5-day cut, seed 1: see the benchmark market's section) measured here 2026-12-02 06:10-06:22 "
    "UTC at a 1-minute load of 7-15: on time at least greedy's on all 5 seeds (was 4: seed 5 "
    "now 83.8 % against 83.8 %, was 81.1 %), mean 85.4 % against 83.9 % without the price, and "
    "cpsat fills one or two orders more than greedy on seeds 2, 3 and 5; but the cost per filled "
    "order rose on seeds 2 (1,594 against 1,431 without the price) and 5 (1,693 against 1,623), "
    "the two seeds where cpsat also fills more (37 against 36, 71 against 69; whether those "
    "orders carry the rise is not measured), so the 10 % cut is **missed** there (-5.9 % "
    "and -6.8 %): 23 of 25 targets, was 24. Greedy's KPIs are unchanged to the order (it plans "
    "by earliest finish and does not read the price). Under this load CP-SAT's 2 s wall-clock "
    "cap can end a call before its deterministic limit, so a run is not byte-for-byte "
    "repeatable on a loaded machine (single's mean lead time moved from 71.6 to 70.3 h with no "
    "change to it)."
)

NOTES = Path(__file__).resolve().parent / "results" / "sim_notes.md"

# The standard run at the budget above, as far as it got: one process per seed and policy,
# merged by render_stored. Measured 2026-12-04 (the times and loads are in the text).
STANDARD_RUN_STATUS = (
    "How far the standard run got (processes side by side, merged; the market section above "
    "renders `results/sim.json`, `sim_runs5/a.json`, `sim_runs5/b.json`, "
    "`sim_runs6/cpsat.json` and `sim_runs7/seed1.json`, a later file's run of a seed and "
    "policy replacing an earlier one's; the checked-plan count there adds up every merged "
    "run, the replaced ones too). "
    "cpsat: seeds 1-5 re-run 2026-12-04 18:34-18:48 UTC in one process (`sim_runs6/`, load "
    "1.1-2.5, beside the experiment below), after the engine fix of that day: a service "
    "line's bookings now count only inside its windows (`matching/build.py`, "
    "`_booking_profile`). Before it, a lot running late through a line's closed hours was "
    "counted on top of the hours blocked whole, so the cumulative constraint asked for more "
    "slots than the line has and CP-SAT proved the model infeasible: the engine fell back to "
    "its greedy hint in those calls (43 of 930 on the 5-day cut; none now). greedy: seeds 1-5 "
    "started 2026-12-04 14:31 UTC (`sim_runs5/`); the fix leaves greedy's plans unchanged "
    "(the same KPIs to the order on the 5-day cut). single: the 2026-12-02 runs, but seed 1. "
    "Seed 1 again, every policy and the longer budget in one process (`sim_runs7/`, "
    "2026-12-04 23:06-23:19 UTC, load 1.0-1.1, alone on the machine, 23,921 plans checked, "
    "all valid), for the HTML report below: cpsat and greedy the same KPIs to the order as "
    "before (cpsat 161.3 s CPU alone against 151.0 s beside another process), single 1,141 / "
    "11.7 % (was 1,151 / 11.0 % on the 2026-12-02 code). cpsat against "
    "greedy, filled / on time / cost per filled order / idle used: 1: 4,400 / 65.7 % / "
    "1,158.46 (-8.0 %) / 16.5 % against 4,233 / 59.2 % / 1,259.34 / 15.3 %; 2: 4,532 / "
    "73.5 % / 1,241.52 (-10.7 %) / 16.3 % against 4,391 / 68.9 % / 1,390.55 / 15.5 %; 3: "
    "4,622 / 72.0 % / 1,204.80 (-9.6 %) / 16.4 % against 4,481 / 67.7 % / 1,333.14 / "
    "15.6 %; 4: 4,416 / 65.5 % / 1,144.43 (-7.3 %) / 16.0 % against 4,204 / 60.4 % / "
    "1,233.98 / 14.7 %; 5: 4,390 / 65.7 % / 1,248.17 (-7.9 %) / 17.7 % against 4,237 / "
    "61.2 % / 1,355.19 / 16.7 %. Fills, on time (+4.3 to +6.5 points), idle capacity used and "
    "single + 20 points are met on every seed; the cost cut is met on seed 2 only (-7.3 % to "
    "-10.7 %, target -10 %): 21 of 25 targets (20 before the fix). On the orders both "
    "policies fill cpsat is -9.3 % to -12.1 %: the extra orders it fills are the dear ones. "
    "CPU: cpsat 151-168 s per seed with the checker (2 s of it), two processes side by side "
    "on 2 cores (alone, seed 1: 161 s): the <= 120 s target is **missed**. "
    "Tried to cut it, not adopted: CP-SAT's deterministic limit halved to 0.001 s (seeds 1-5 "
    "beside the run above, `run` with the checker): 130-146 s CPU (-14 %), but fewer filled "
    "(-7 to -22 per seed), less on time (-0.4 to -1.7 points) and cost -7.8 % to -9.6 %, "
    "so it gives up quality. Where the time goes on the 5-day cut (2026-12-04, after the "
    "fix, 931 engine calls; pyinstrument and timers): CP-SAT's search 12 s of 26 s CPU "
    "(13 ms a call for models of about 250 variables: the 0.002 s deterministic limit is "
    "what it costs, not the model's loading), the model build 3 s, `build_problem` (free "
    "intervals of every candidate) about a quarter, the two greedy plans and the snapshots "
    "about a sixth each. CP-SAT returned its hint unchanged in 605 of the 931 calls and a "
    "better plan in 326, so skipping it gives up cost; without its LP relaxation "
    "(`linearization_level` 0) it took 10 % less time but moved the KPIs both ways on seeds "
    "1-3 of the cut (+4 / +6 / -1 filled, on time +1.2 / +0.2 / -0.9 points, cost -0.3 / "
    "+1.2 / -0.8 %), not adopted. "
    "The policy's own longer budget (6 candidates, 0.02 s) at full size, seed 1, on the "
    "fixed code (`sim_runs7/`): 4,527 / 68.8 % / 1,151.40 / 17.8 % / 436.1 s CPU against the "
    "standard budget's 4,400 / 65.7 % / 1,158.46 / 16.5 % / 161.3 s: the standard budget "
    "**gives up** 127 filled orders and 3.1 points on time (cost +0.6 %), and the longer "
    "budget misses the cost target too (-8.6 % against greedy). On the 5-day cut after the "
    "fix the candidates carry that (6 candidates at 0.002 s: 825 / 87.0 % / 1,134.91 / "
    "28.7 s CPU; at 0.02 s: 836 / 89.5 % / 1,113.63 / 71.8 s; 4 at 0.002 s: 814 / 83.1 % / "
    "1,121.84 / 22.9 s), so the budget that does not give up quality needs 6 candidates per "
    "step, about 25 % more CPU, at a size already over the target. The HTML report of this "
    "market is `bench/results/sim.html` (seed 1's cards, key figures and charts from a run "
    "of its own, `sim_runs7/report.json`, 2026-12-05 00:37 UTC, the same KPIs to the order "
    "as `sim_runs7/seed1.json`; the spread over seeds 1-5 and the 25 target checks from the "
    "merged runs)."
)


def write_notes(out: Path = NOTES) -> str:
    """How far the standard run got in the session that measured it, as its own section."""
    text = "\n".join(["### Market simulation: how far the standard run got", "",
                       STANDARD_RUN_STATUS]) + "\n"
    out.write_text(text, encoding="utf-8")
    return text


SPREAD_RESULTS = Path(__file__).resolve().parent / "results" / "sim_seeds.md"
SPREAD_REPORT = Path(__file__).resolve().parent / "results" / "sim_seeds.html"


def run_seeds(*, seeds: Sequence[int] = (1, 2, 3, 4, 5),
              policies: Sequence[str] = ("cpsat", "greedy", "single"),
              raw: dict[str, Any] | None = None, label: str = "the shipped example market",
              out: Path = SPREAD_RESULTS, report: Path | None = SPREAD_REPORT,
              console: Console | None = None) -> dict[int, list[Kpis]]:
    """Every policy on the markets of ``seeds``: KPIs side by side with their spread.

    Every plan the engine returns on the way is checked by the independent plan checker
    (``bench.checked``); a broken plan stops the benchmark.
    """
    console = console or Console()
    cfg = parse_config(raw or read_raw(EXAMPLE), "bench config")
    checker = CheckedSolve()
    by_seed: dict[int, list[Kpis]] = {}
    first: list[PolicyRun] = []
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    for seed in seeds:
        runs = run_policies(cfg, list(policies), seed=seed, solver=checker)
        by_seed[seed] = [r.kpis for r in runs]
        first = first or runs
        for k in by_seed[seed]:
            console.print(f"seed {seed} {k.policy}: filled {k.filled}/{k.orders}, on time "
                          f"{k.on_time_rate:.1%}, cost/order {k.cost_per_order:,.2f}, idle used "
                          f"{k.idle_capacity_used:.1%}")
    wall = time.perf_counter() - t0
    s = cfg.solver
    lines = [
        f"### Over seeds: {label}",
        "",
        f"{len(seeds)} markets drawn from one config (seeds {', '.join(map(str, seeds))}; "
        f"{cfg.market.factories} factories, {cfg.orders.per_day:g} orders a day over "
        f"{cfg.days:g} days), each policy on each. Solver budget per engine call: "
        f"max_deterministic_time {s.deterministic_time_s} s, wall cap {s.time_limit_s} s, "
        f"{s.candidates_per_step} candidates per step, congestion price "
        f"{s.congestion_per_hour:g} CNY/h, scarcity markup {s.scarcity_markup:g} (cpsat "
        f"only); objective: tardiness "
        f"{cfg.objective.tardiness_per_hour:g} CNY/h, late order "
        f"{cfg.objective.late_order_penalty:g} CNY. {checker.plans:,} plans "
        f"({checker.orders:,} order plans) checked by `tests/matching/plan_checker.py`, all "
        f"valid. {wall:.0f} s in all; 1-minute load average {load_before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after.",
        "",
        *spread.markdown(by_seed),
        "",
        DIAGNOSIS,
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if report is not None and first:
        from simulations.report import render_report

        report.write_text(render_report(first, title=f"ShareFab market simulation: {label}",
                                        by_seed=by_seed), encoding="utf-8")
    console.print(f"wrote {out}")
    return by_seed


# The policy's own longer budget, against which the standard one must give up nothing.
LONGER = {"solver.candidates_per_step": 6, "solver.deterministic_time_s": 0.02}
STANDARD_SEEDS = (1, 2, 3, 4, 5)


def main() -> None:
    """The standard configuration (called by bench/run_all.py)."""
    run_seeds()
    run(seeds=STANDARD_SEEDS, policies=["cpsat", "greedy", "single"], report=REPORT,
        longer=LONGER)


__all__ = ["bench_config", "load_config", "main", "run", "run_seeds"]
