"""``sharefab_redis_breaker_*`` gauges: the Redis circuit breaker as Prometheus sees it.

Read from the process's own breaker at scrape time, never from Redis, so ``/metrics`` shows an
outage while it lasts (issue 12).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from services.live.breaker import STATES, CircuitBreaker


class BreakerCollector(Collector):
    """state{state} (1 for the current one), opened_total and probes_failed_total."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        current = self.breaker.state
        state = GaugeMetricFamily("sharefab_redis_breaker_state",
                                  "1 for the Redis circuit breaker's current state",
                                  labels=["state"])
        for name in STATES:
            state.add_metric([name], int(name == current))
        yield state
        yield CounterMetricFamily("sharefab_redis_breaker_opened",
                                  "Times the Redis circuit breaker opened (closed -> open)",
                                  value=self.breaker.opened_total)
        yield CounterMetricFamily("sharefab_redis_breaker_probes_failed",
                                  "Half-open probes (PING) that found Redis still down",
                                  value=self.breaker.probes_failed_total)
