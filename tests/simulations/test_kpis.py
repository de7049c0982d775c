"""KPIs computed by hand on tiny scripted runs."""

from __future__ import annotations

import pytest

from matching.engine import SolveOptions
from simulations.des import simulate
from simulations.kpis import (
    KPI_COLUMNS,
    OrderOutcome,
    compare_common,
    compute,
    daily_idle_used,
    filled_costs,
    order_outcomes,
    percentile,
    to_csv,
)
from simulations.policies import make_policy
from tests.simulations.builders import ScriptedSolver, factory, market, order, resource

LASER = "cutting.laser"


def result():
    f1 = factory("F1", [resource("F1-L1", LASER, [(480, 1200)])], park="P1")
    f2 = factory("F2", [resource("F2-L1", LASER, [(480, 1080)])], park="P2", lat=29.9)
    solver = ScriptedSolver({
        "O1": [("s1", "F1", "F1-L1", 10, 480, 600)],                    # on time
        "O2": [("s1", "F1", "F1-L1", 5, 600, 660),
               ("s1", "F2", "F2-L1", 5, 600, 660)],                     # late (due 630)
    })
    o3 = order("O3", [LASER])                                           # unmatched
    m = market([f1, f2], [(0, order("O1", [LASER])), (60, order("O2", [LASER], due_min=630)),
                          (120, o3)], end_min=1440)
    return simulate(m, make_policy("greedy", SolveOptions(), solver))


def test_compute__counts_rates_lead_times_and_costs():
    k = compute(result())
    assert (k.orders, k.filled, k.unmatched, k.completed, k.on_time, k.late) == (3, 2, 1, 2, 1, 1)
    assert k.on_time_rate == pytest.approx(1 / 3)
    assert k.fill_rate == pytest.approx(2 / 3)
    assert k.mean_lead_time_h == pytest.approx(((600 - 0) + (660 - 60)) / 2 / 60)
    assert k.mean_tardiness_h == pytest.approx(30 / 60 / 2)
    assert k.cost_per_order == pytest.approx((120 + 120) / 2)  # scripted cost = minutes
    assert k.factories_per_order == pytest.approx(1.5)
    assert k.multi_factory_orders == 1


def test_compute__utilization_and_idle_capacity():
    k = compute(result())
    busy = 120 + 60 + 60
    offered = (1200 - 480) + (1080 - 480)
    staffed = 2 * 1440  # the builder staffs every machine the whole run
    assert k.idle_capacity_used == pytest.approx(busy / offered)
    assert k.utilization == pytest.approx((staffed - offered + busy) / staffed)


def test_daily_idle_used__one_day_run():
    (day,) = daily_idle_used(result())
    assert day == pytest.approx(240 / 1320)


def test_percentile__nearest_rank():
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 90) == 5.0
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([], 90) == 0.0


def test_to_csv__fixed_decimals_and_columns():
    text = to_csv([compute(result())], KPI_COLUMNS)
    header, row = text.splitlines()
    assert header.split(",")[:7] == ["policy", "orders", "filled", "unmatched", "completed",
                                     "on_time", "late"]
    assert "on_time_rate" in header
    assert "cost_per_order" in header
    assert ",120.00," in row
    assert ",0.3333," in row


def test_order_outcomes__one_row_per_order_with_its_fate():
    rows = {o.order: o for o in order_outcomes(result())}
    assert rows.keys() == {"O1", "O2", "O3"}
    assert (rows["O1"].status, rows["O1"].on_time, rows["O1"].cost_cny) == ("done", True, 120)
    assert rows["O2"].on_time is False
    assert rows["O2"].completion_h == pytest.approx(660 / 60)
    assert rows["O2"].factories == 2
    assert (rows["O3"].status, rows["O3"].cost_cny, rows["O3"].factories) == ("unmatched",
                                                                           None, 0)
    text = to_csv(order_outcomes(result()))
    o3 = next(line for line in text.splitlines() if line.startswith("O3,"))
    assert ",unmatched,,False,," in o3  # no completion, no cost: empty cells, not "None"


def _outcome(order: str, cost: float | None) -> OrderOutcome:
    return OrderOutcome(order=order, policy="x", arrival_h=0.0, due_h=1.0,
                        status="unmatched" if cost is None else "done", completion_h=None,
                        on_time=False, cost_cny=cost, factories=1, replans=0)


def test_compare_common__prices_shared_orders_apart_from_the_extra_ones():
    a = filled_costs([_outcome("O1", 90.0), _outcome("O2", 110.0), _outcome("O3", 400.0)])
    b = filled_costs([_outcome("O1", 100.0), _outcome("O2", 120.0), _outcome("O3", None),
                      _outcome("O4", 50.0)])
    assert b == {"O1": 100.0, "O2": 120.0, "O4": 50.0}
    c = compare_common(a, b)
    assert (c.both, c.a_cost, c.b_cost) == (2, 100.0, 110.0)
    assert (c.only_a, c.only_a_cost, c.only_b, c.only_b_cost) == (1, 400.0, 1, 50.0)
    assert c.change == pytest.approx(100 / 110 - 1)
