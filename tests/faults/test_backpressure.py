"""Overload answers 429 + Retry-After: quote admission overall and per tenant, the queue
bound, and the per-tenant rate limit. SQLite and an in-memory live store: no servers."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi.testclient import TestClient

from matching import engine as matching_engine
from services.api.app import create_app
from services.api.backpressure import TokenBuckets
from services.live.memory import InMemoryLiveStore
from tests.services import builders as b
from tests.services.auth_helpers import as_platform, bearer, grant
from tests.services.conftest import NOW, make_settings


def _client(tmp_path: Any, quote_fn: Any = None, **overrides: Any) -> TestClient:
    settings = make_settings(f"sqlite:///{tmp_path / 'bp.db'}").model_copy(update=overrides)
    return TestClient(create_app(settings, live=InMemoryLiveStore(), clock=lambda: NOW,
                                 quote_fn=quote_fn))


def _other_tenant(client: TestClient) -> dict[str, str]:
    """Another organisation's key: another tenant for the limits."""
    return bearer(grant(client.app, org_id="other-platform"))  # type: ignore[arg-type]


def test_quotes_past_the_tenant_bound_get_429_with_retry_after(tmp_path):
    release = threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(20)
        return matching_engine.quote(*args, **kwargs)

    with _client(tmp_path, held, quote_tenant_max=2, quote_queue_max=4,
                 quote_concurrency=1) as client:
        as_platform(client)
        client.post("/scenario", json=b.example())
        answers: list[Any] = []
        threads = [threading.Thread(target=lambda: answers.append(
            client.post("/orders/O1/quotes", params={"time_limit_s": 0.3}))) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # both admitted: one solving, one waiting for the solver slot
        started = time.perf_counter()
        third = client.post("/orders/O1/quotes", params={"time_limit_s": 0.3})
        assert time.perf_counter() - started < 1.0  # refused at once, not queued for 80 s
        assert third.status_code == 429
        assert int(third.headers["retry-after"]) >= 1
        assert "per client" in third.json()["detail"]
        release.set()
        for t in threads:
            t.join(30)
        assert sorted(a.status_code for a in answers) == [201, 201]
        assert client.get("/orders").status_code == 200  # nothing else was held up


def test_quotes_past_the_overall_bound_get_429(tmp_path):
    release = threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(20)
        return matching_engine.quote(*args, **kwargs)

    with _client(tmp_path, held, quote_tenant_max=5, quote_queue_max=1) as client:
        as_platform(client)
        client.post("/scenario", json=b.example())
        first = threading.Thread(target=lambda: client.post("/orders/O1/quotes",
                                                            params={"time_limit_s": 0.3}))
        first.start()
        time.sleep(0.5)
        refused = client.post("/orders/O1/quotes", params={"time_limit_s": 0.3},
                              headers=_other_tenant(client))
        assert refused.status_code == 429
        assert "(limit 1)" in refused.json()["errors"][0]["message"]
        release.set()
        first.join(30)
        assert client.post("/orders/O1/quotes", params={"time_limit_s": 0.3}
                           ).status_code == 201  # the slot came back


def test_queued_quotes_past_the_queue_bound_get_429(tmp_path):
    with _client(tmp_path, match_queue_max=2) as client:
        as_platform(client)
        client.post("/scenario", json=b.example())
        for _ in range(2):
            assert client.post("/orders/O1/quotes", params={"wait": "false"}
                               ).status_code == 202
        refused = client.post("/orders/O1/quotes", params={"wait": "false"})
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["field"] == "queue"


def test_rate_limit_per_tenant_and_ops_routes_exempt(tmp_path):
    with _client(tmp_path, rate_limit_per_s=1.0, rate_limit_burst=3) as client:
        as_platform(client)
        other = _other_tenant(client)
        codes = [client.get("/orders").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        refused = client.get("/orders")
        assert int(refused.headers["retry-after"]) >= 1
        assert client.get("/orders", headers=other).status_code == 200
        assert {client.get(p).status_code for p in ("/healthz", "/metrics")} == {200}


def test_token_bucket_refills_at_its_rate():
    buckets = TokenBuckets(rate_per_s=2.0, burst=2)
    assert [buckets.take("a", now=0.0) for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a", now=0.0) == 0.5
    assert buckets.take("a", now=0.6) == 0.0  # 1.2 tokens after 0.6 s
    assert buckets.take("b", now=0.6) == 0.0  # another tenant's bucket is full
