"""Config validation: a bad config fails with the name of the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulations.config import ConfigError, load_config, parse_config, read_raw, with_params

EXAMPLE = Path(__file__).resolve().parents[2] / "simulations" / "examples" / "market.yaml"


def test_example_config__loads():
    config = load_config(EXAMPLE)
    assert config.market.factories > 0
    assert config.solver.deterministic_time_s > 0


def test_config__negative_rate_names_the_field():
    raw = with_params(read_raw(EXAMPLE), {"orders_per_day": -1})
    with pytest.raises(ConfigError, match=r"orders\.per_day"):
        parse_config(raw)


def test_config__unknown_process_is_refused():
    raw = read_raw(EXAMPLE)
    raw["orders"]["families"][0]["steps"][0]["process"] = "cutting.lightsaber"
    with pytest.raises(ConfigError, match=r"cutting\.lightsaber"):
        parse_config(raw)


def test_config__unpriced_process_is_refused():
    raw = read_raw(EXAMPLE)
    del raw["market"]["processes"]["cutting.laser"]
    with pytest.raises(ConfigError, match=r"cutting\.laser has no entry"):
        parse_config(raw)


def test_config__unknown_field_is_refused():
    raw = read_raw(EXAMPLE)
    raw["market"]["factorys"] = 3
    with pytest.raises(ConfigError, match=r"market\.factorys"):
        parse_config(raw)


def test_with_params__alias_and_dotted_path():
    raw = read_raw(EXAMPLE)
    out = with_params(raw, {"orders_per_day": 99, "market.mtbf_h": 10, "due_slack_low": 1.0})
    config = parse_config(out)
    assert config.orders.per_day == 99
    assert config.market.mtbf_h == 10
    assert config.orders.due_slack[0] == 1.0
    assert raw["orders"]["per_day"] != 99  # the original is untouched


def test_with_params__unknown_name_is_refused():
    with pytest.raises(ConfigError, match=r"no field 'orders\.per_week'"):
        with_params(read_raw(EXAMPLE), {"orders.per_week": 3})


def test_read_raw__missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        read_raw(tmp_path / "nope.yaml")


def test_read_raw__broken_yaml_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("market: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_raw(p)


def test_config__planning_prices_are_validated_and_reach_the_policy():
    from simulations.policies import EnginePolicy, make_policy
    from simulations.runner import solve_options

    raw = with_params(read_raw(EXAMPLE), {"solver.congestion_per_hour": 12.5,
                                          "solver.due_margin": 0.1})
    config = parse_config(raw)
    policy = make_policy("cpsat", solve_options(config),
                         due_margin=config.solver.due_margin,
                         congestion_per_hour=config.solver.congestion_per_hour)
    assert isinstance(policy, EnginePolicy)
    assert (policy.congestion_per_hour, policy.due_margin) == (12.5, 0.1)
    with pytest.raises(ConfigError, match=r"solver\.congestion_per_hour"):
        parse_config(with_params(read_raw(EXAMPLE), {"solver.congestion_per_hour": -1}))
    with pytest.raises(ConfigError, match=r"solver\.due_margin"):
        parse_config(with_params(read_raw(EXAMPLE), {"solver.due_margin": 1.0}))
