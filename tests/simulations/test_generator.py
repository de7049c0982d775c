"""The seeded market generator: same seed, same market; realistic shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain import processes
from domain.routing import topological_order
from simulations.config import load_config, parse_config, read_raw, with_params
from simulations.generator import MIN_PER_DAY, generate

EXAMPLE = Path(__file__).resolve().parents[2] / "simulations" / "examples" / "market.yaml"


@pytest.fixture(scope="module")
def raw():
    return read_raw(EXAMPLE)


def test_generate__same_seed_same_market(raw):
    config = parse_config(raw)
    assert generate(config, 3) == generate(config, 3)


def test_generate__other_seed_other_market(raw):
    config = parse_config(raw)
    a, b = generate(config, 3), generate(config, 4)
    assert a.factories != b.factories
    assert [x.at_min for x in a.arrivals] != [x.at_min for x in b.arrivals]


def test_generate__order_rate_leaves_factories_and_outages_alone(raw):
    a = generate(parse_config(with_params(raw, {"orders_per_day": 10})), 1)
    b = generate(parse_config(with_params(raw, {"orders_per_day": 40})), 1)
    assert a.factories == b.factories
    assert a.outages == b.outages
    assert len(b.arrivals) > 2 * len(a.arrivals)


def test_generate__poisson_arrivals_have_the_configured_rate(raw):
    config = parse_config(with_params(raw, {"orders_per_day": 50, "days": 20}))
    m = generate(config, 11)
    # 1,000 expected; a Poisson count has sd ~32, so 4 sd either side.
    assert 870 <= len(m.arrivals) <= 1130
    times = [a.at_min for a in m.arrivals]
    assert times == sorted(times)
    assert times[0] >= 0
    assert times[-1] < 20 * MIN_PER_DAY


def test_generate__routings_are_2_to_8_known_steps_and_acyclic(raw):
    m = generate(parse_config(raw), 5)
    lengths = set()
    for a in m.arrivals:
        o = a.order
        lengths.add(len(o.steps))
        assert 2 <= len(o.steps) <= 8
        assert all(processes.is_known(s.process) for s in o.steps)
        assert len(topological_order(o.steps)) == len(o.steps)
        assert o.due > m.at(a.at_min)
        assert 1 <= o.min_lot <= o.quantity
    assert len(lengths) > 1  # optional steps make routings vary


def test_generate__kit_family_keeps_its_branch(raw):
    m = generate(parse_config(raw), 5)
    kits = [a.order for a in m.arrivals
            if [s.process for s in a.order.steps[:3]] == ["machining.cnc_milling",
                                                          "machining.cnc_turning",
                                                          "assembly.manual"]]
    assert kits, "the example should produce at least one machined kit"
    s1, s2, s3 = kits[0].steps[:3]
    assert s2.after == ()
    assert set(s3.after) == {s1.id, s2.id}


def test_generate__every_archetype_present_and_windows_inside_shifts(raw):
    config = load_config(EXAMPLE)
    m = generate(config, 2)
    names = {f.name.rsplit(" ", 1)[0] for f in m.factories}
    assert names == {a.name for a in config.market.archetypes}
    for f in m.factories:
        for r in f.resources:
            offered = sum(w.duration_min() for w in r.windows)
            assert 0 <= offered <= m.shift_min[r.id]
            assert all(a.end <= b.start for a, b in zip(r.windows, r.windows[1:], strict=False))
            assert r.pricing.time_share_per_hour is not None


def test_generate__outages_do_not_overlap_per_machine(raw):
    m = generate(parse_config(raw), 2)
    last: dict[str, int] = {}
    for o in m.outages:
        assert o.up_min > o.down_min
        assert o.down_min >= last.get(o.resource, -1)
        last[o.resource] = o.up_min
    # MTBF 250 h over 13 days: about 1.2 breakdowns per machine.
    machines = sum(len(f.resources) for f in m.factories)
    assert 0.5 * machines < len(m.outages) < 2.5 * machines
