"""``RedisLiveStore`` on the real Redis: what the API and the matcher's snapshot read."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from connectors.state import RedisState
from services.core.settings import Settings
from services.live.redis_store import RedisLiveStore, make_live_store

pytestmark = pytest.mark.redis


@pytest.fixture
def store(redis_url):
    settings = Settings(redis_url=redis_url, environment="test",
                        redis_key_prefix=f"t{uuid.uuid4().hex[:8]}:", heartbeat_ttl_s=30)
    live = make_live_store(settings)
    yield live
    live.state.clear()


def write(state: RedisState, rid: str, status: str, *, age_s: float = 0.0,
          factory: str = "F1") -> None:
    now = datetime.now(UTC)
    op = state.state_op(topic=f"sharefab/v1/P1/{factory}/{rid}/state", seq=1, park="P1",
                        factory=factory, resource=rid, status=status, utilization=0.5,
                        last_seen=now - timedelta(seconds=age_s), now=now)
    assert state.apply([op]) == [1]


def test_live_store__reads_status_and_last_seen(store: RedisLiveStore):
    write(store.state, "R1", "running")
    live = store.get("R1")
    assert live is not None
    assert (live.status, live.utilization) == ("running", 0.5)
    assert abs((datetime.now(UTC) - live.last_seen).total_seconds()) < 5
    assert store.get("R-none") is None


def test_live_store__unavailable_is_down_offline_or_silent(store: RedisLiveStore):
    write(store.state, "R1", "running")
    write(store.state, "R2", "down")
    write(store.state, "R3", "idle", age_s=60)  # heartbeat long gone
    write(store.state, "R4", "idle", factory="F2")
    assert store.unavailable() == {"R2", "R3"}
    assert store.count_by_status() == {"running": 1, "down": 1, "offline": 1, "idle": 1}
    assert set(store.get_many(["R1", "R4", "R9"])) == {"R1", "R4"}


def test_live_store__heartbeat_key_has_a_ttl(store: RedisLiveStore):
    write(store.state, "R1", "idle", age_s=10)
    ttl = store.state.redis.ttl(store.state.hb_key("R1"))
    assert 0 < ttl <= 20
