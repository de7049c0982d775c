import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from domain import PricingMode
from domain.pricing import lot_cost_cny, resolve_mode
from domain.routing import RoutingError, topological_order
from domain.schemas import dump_scenario, parse_scenario

EXAMPLE = Path(__file__).parents[2] / "examples" / "scenario.json"


def _example() -> dict:
    return json.loads(EXAMPLE.read_text())


def test_scenario__round_trips_field_for_field():
    data = _example()
    out = dump_scenario(parse_scenario(data))
    for key, value in data.items():
        assert out[key] == value, key
    assert out == data


def test_order__cycle_rejected():
    data = _example()
    data["orders"][0]["steps"][0]["after"] = ["s3"]
    with pytest.raises(ValidationError, match="cycle"):
        parse_scenario(data)


def test_order__unknown_after_rejected():
    data = _example()
    data["orders"][0]["steps"][1]["after"] = ["nope"]
    with pytest.raises(ValidationError, match="unknown step 'nope'"):
        parse_scenario(data)


def test_resource__unknown_process_rejected():
    data = _example()
    data["factories"][0]["resources"][0]["process"] = "cutting.lazer"
    with pytest.raises(ValidationError, match=r"unknown process code 'cutting.lazer'"):
        parse_scenario(data)


def test_window__end_before_start_rejected():
    data = _example()
    w = data["factories"][0]["resources"][0]["windows"][0]
    w["start"], w["end"] = w["end"], w["start"]
    with pytest.raises(ValidationError, match="must be after start"):
        parse_scenario(data)


def test_timestamp__naive_rejected():
    data = _example()
    data["horizon_start"] = "2026-12-01T00:00:00"
    with pytest.raises(ValidationError, match="timezone"):
        parse_scenario(data)


def test_topological_order__respects_after():
    scenario = parse_scenario(_example())
    assert topological_order(scenario.orders[0].steps) == ["s1", "s2", "s3"]
    with pytest.raises(RoutingError):
        topological_order([type("S", (), {"id": "a", "after": ("a",)})()])


def test_pricing__cheapest_picks_lowest_offer():
    s = parse_scenario(_example())
    order = s.orders[0]
    _, laser = s.resources()["F1-L1"]
    step = order.step("s1")
    # 300 pieces: per piece 360.0; time share 90/h over 20 + 150 min = 255.0
    assert lot_cost_cny(PricingMode.PER_PIECE, laser, order, step, 300, 170) == pytest.approx(360.0)
    assert resolve_mode(order, laser, step, 300, 170) == (PricingMode.TIME_SHARE,
                                                          pytest.approx(255.0))
    _, cnc2 = s.resources()["F2-CNC1"]
    assert lot_cost_cny(PricingMode.PER_PIECE, cnc2, order, order.step("s2"), 10, 60) is None
