"""The load bench's report: 429s counted per guard apart from real errors, and what saturates
first said from the run's own figures (bench/load.py; the run itself is `sharefab bench load`)."""

from __future__ import annotations

from typing import Any

from bench import load


def _result(**over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resources": 1000, "users": 30, "duration_s": 60.0, "mqtt_rate_hz": 200.0,
        "mqtt_sent": 12000, "mqtt_ingested": 11900, "quote_requests": 40, "quote_backlog": 0,
        "dead_letters": 0, "cpu_cores": {"api": 0.5, "ingest": 0.2, "match": 0.3},
        "stats": [], "unloaded_ms": {}, "load_before": [0.5], "load_after": [1.0],
        "quotes_solved": 9, "failures": []}
    r.update(over)
    return r


def test_refusals__429s_by_guard_other_failures_apart() -> None:
    failures = [
        {"name": "POST /orders/{id}/quotes (wait)", "error": "CatchResponseError('429 quotes')",
         "count": 3},
        {"name": "GET /orders", "error": "CatchResponseError('429 rate')", "count": 1},
        {"name": "POST /orders/{id}/quotes (wait)", "error": "CatchResponseError('429')",
         "count": 1},  # an older locustfile named no guard
        {"name": "GET /resources?park", "error": "CatchResponseError('503: {\"detail\"')",
         "count": 2},
    ]
    by_guard, errors = load.refusals(failures)
    assert by_guard == {"quotes": 3, "rate": 1, "unnamed": 1}
    assert [e["count"] for e in errors] == [2]
    text = load.render(_result(failures=failures))
    assert "Refused with 429 (back-pressure, provoked): 5 (quotes: 3, rate: 1, unnamed: 1); " \
           "other errors: 2" in text
    assert "503" in text


def test_saturation__machine_cpu_first_then_quote_slots_and_matchers() -> None:
    busy = _result(load_before=[14.0], quote_backlog=8, failures=[
        {"name": "q", "error": "CatchResponseError('429 quotes')", "count": 2}])
    found = load.saturation(busy, cores=2)
    assert found[0].startswith("the machine's CPU: 1-minute load 14.0 on 2 cores")
    assert "solver slots" in found[1]
    assert "2 refused" in found[1]
    assert "8 of 40 queued requests still waiting" in found[2]
    assert "Saturates first: the machine's CPU" in load.render(busy)


def test_saturation__our_cpu_or_nothing() -> None:
    ours = _result(cpu_cores={"api": 1.2, "ingest": 0.3, "match": 0.3})
    assert load.saturation(ours, cores=2)[0] == "CPU: our processes used 1.80 of 2 cores"
    lagging = _result(mqtt_ingested=5000)
    assert load.saturation(lagging, cores=2) == [
        "the ingest: 5000 of 12000 messages counted 2 s after the end"]
    assert load.saturation(_result(), cores=2)[0].startswith("nothing measured here")
