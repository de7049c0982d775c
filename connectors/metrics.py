"""Prometheus counters of the ingest, read from the Redis totals every ingest process adds to.

The ingest may run in the API process (embedded) or in several ``sharefab worker ingest``
processes (shared subscription). Counters kept in process memory would show only the API's
own share, so the totals live in Redis (``RedisState.add_totals``) and this collector, on the
default registry, turns them into ``sharefab_mqtt_messages_total`` and
``sharefab_mqtt_rejected_total{reason}`` at scrape time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import redis
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from connectors.state import RedisState
from connectors.validation import Reason

log = logging.getLogger(__name__)

# Per process (each ingest process serves its own, see ``sharefab worker ingest``): how the
# at-least-once ingest is coping. Failures and deferrals rising with acked flat = an outage.
INGEST_ACKED = Counter("sharefab_ingest_acked", "QoS 1 messages acknowledged after applying")
INGEST_BATCH_FAILURES = Counter("sharefab_ingest_batch_failures",
                                "Batch attempts that failed (Redis down); retried, not acked")
INGEST_DEFERRED = Counter("sharefab_ingest_deferred",
                          "Messages whose database effect was deferred (database down)")
INGEST_SHED = Counter("sharefab_ingest_shed",
                      "QoS 0 messages dropped because the ingest buffer was full")


class MqttTotalsCollector(Collector):
    def __init__(self, state: RedisState | None = None) -> None:
        self.state = state
        self._last: tuple[int, dict[str, int]] = (0, {})

    def collect(self) -> Iterator[CounterMetricFamily]:
        messages, rejected = self._last
        if self.state is not None:
            try:
                messages, rejected = self._last = self.state.totals()
            except redis.RedisError as exc:  # a scrape must not fail because Redis blinked:
                # the last totals, never zeros (a counter dropping to 0 reads as a reset)
                log.warning("MQTT totals unavailable: %s", exc)
        total = CounterMetricFamily("sharefab_mqtt_messages",
                                    "MQTT messages received by the ingest (all processes)")
        total.add_metric([], messages)
        yield total
        by_reason = CounterMetricFamily("sharefab_mqtt_rejected",
                                        "MQTT messages refused by the ingest, by reason",
                                        labels=["reason"])
        for reason in sorted({r.value for r in Reason} | set(rejected)):
            by_reason.add_metric([reason], rejected.get(reason, 0))
        yield by_reason


_collector = MqttTotalsCollector()
_lock = threading.Lock()
_registered = False


def register_mqtt_metrics(state: RedisState) -> MqttTotalsCollector:
    """Point the (once registered) collector at ``state``; safe to call again."""
    global _registered
    with _lock:
        _collector.state = state
        if not _registered:
            REGISTRY.register(_collector)
            _registered = True
    return _collector
