"""The housekeeping loop's failure log: one traceback per run of failures, not one a round."""

from __future__ import annotations

import logging

import pytest

from services.workers.housekeeping import FailureLog


def test_failure_log__a_run_of_the_same_failure_logs_one_traceback_then_a_line_a_minute(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = [0.0]
    failures = FailureLog(every_s=60.0, clock=lambda: clock[0])
    caplog.set_level(logging.INFO, logger="services.workers.housekeeping")
    for second in range(130):  # two minutes of a round a second, all failing the same way
        clock[0] = float(second)
        failures.failed(ConnectionError("Redis is down"))
    tracebacks = [r for r in caplog.records if r.exc_info]
    repeats = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(tracebacks) == 1
    assert len(repeats) == 2  # at 60 s and 120 s
    assert "130 in a row" not in repeats[-1].getMessage()
    assert "121 in a row" in repeats[-1].getMessage()
    failures.succeeded()
    assert caplog.records[-1].getMessage() == "housekeeping works again after 130 failed rounds"


def test_failure_log__a_different_error_gets_its_own_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    failures = FailureLog(every_s=60.0, clock=lambda: 0.0)
    caplog.set_level(logging.INFO, logger="services.workers.housekeeping")
    failures.failed(ConnectionError("Redis is down"))
    failures.failed(ConnectionError("Redis is down"))
    failures.failed(TimeoutError("database pool exhausted"))
    assert sum(1 for r in caplog.records if r.exc_info) == 2
    failures.succeeded()
    failures.failed(ConnectionError("Redis is down"))
    assert sum(1 for r in caplog.records if r.exc_info) == 3
