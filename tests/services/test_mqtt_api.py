"""The MQTT runtime inside the API, against the real Mosquitto and Redis.

A state message becomes visible through ``GET /resources/{id}`` and ``/metrics``; a booked
quote sends its work order to the gateway, and the gateway's progress comes back into the
booking. Each test has its own park, Redis key prefix and share group.
"""

import json
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from connectors.gateway import Behaviour, SimulatedGateway
from connectors.mqtt import BrokerAddress, Publisher
from connectors.state import RedisState
from connectors.topics import Kind, resource_topic
from services.api.app import create_app
from services.core.settings import Settings
from tests.connectors.realservers import wait_for
from tests.services import builders as b
from tests.services.auth_helpers import as_platform

pytestmark = [pytest.mark.mosquitto, pytest.mark.redis]
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def world(tmp_path, mqtt_url, redis_url):
    tag = uuid.uuid4().hex[:8]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}", environment="test",
                        redis_url=redis_url, mqtt_url=mqtt_url, redis_key_prefix=f"t{tag}:",
                        mqtt_share_group=f"g{tag}", quote_default_time_limit_s=2.0)
    app = create_app(settings, clock=lambda: NOW)
    park, factory, rid = f"P{tag}", f"F{tag}", f"F{tag}-R1"
    with TestClient(app) as client:
        as_platform(client)
        assert client.post("/parks", json={"id": park, "name": park, "city": ""}
                           ).status_code == 201
        assert client.post("/factories", json=b.factory(factory, park=park, resources=[
            b.resource(rid)])).status_code == 201
        yield client, BrokerAddress.from_url(mqtt_url), park, factory, rid
        state: RedisState = app.state.live.state
    state.clear()  # after the lifespan stopped the workers that use these keys


def test_state_message__visible_through_the_api(world):
    client, address, park, factory, rid = world
    pub = Publisher(address)
    assert pub.start()
    body = json.dumps({"ts": datetime.now(UTC).isoformat(), "seq": 1, "status": "down",
                       "utilization": 0.3}).encode()
    pub.publish(resource_topic(park, factory, rid, Kind.STATE), body, qos=1)
    assert wait_for(lambda: (client.get(f"/resources/{rid}").json().get("live") or {})
                    .get("status") == "down"), client.app.state.live.state.totals()
    live = client.get(f"/resources/{rid}").json()["live"]
    assert live["utilization"] == 0.3
    assert live["last_seen"].startswith(datetime.now(UTC).strftime("%Y-%m-%d"))
    metrics = client.get("/metrics").text
    assert 'sharefab_resources{status="down"} 1.0' in metrics
    # The runtime's ingest sees the whole broker (other tests' retained messages too), so
    # compare counts before and after rather than absolute values.
    before = _metric(metrics, 'sharefab_mqtt_rejected_total{reason="bad_json"}')
    assert _metric(metrics, "sharefab_mqtt_messages_total") >= 1
    pub.publish(resource_topic(park, factory, rid, Kind.STATE), b"not json", qos=1)
    assert wait_for(lambda: _metric(client.get("/metrics").text,
                                    'sharefab_mqtt_rejected_total{reason="bad_json"}')
                    == before + 1)
    pub.stop()


def test_booking__work_order_to_gateway_and_progress_back(world):
    client, address, park, factory, rid = world
    assert client.post("/orders", json=b.order("O1", quantity=30)).status_code == 201
    quotes = client.post("/orders/O1/quotes", params={"time_limit_s": 1.0}).json()
    assert quotes, "no quote for the order"
    # The gateway subscribes first (QoS 1 work orders are not retained).
    gw = SimulatedGateway(address, park, factory, [rid], rate_hz=20,
                          behaviour=Behaviour(breakdown_p=0.0, time_scale=600.0,
                                              availability_every=10**9))
    gw.tick = lambda: None  # type: ignore[method-assign]  # silent until the order is booked
    # Its calendar (day shifts from the wall clock's today) is not this test's business: the
    # API's clock is NOW, so publishing it would strand the booking and repair the order.
    gw.publish_availability = lambda: None  # type: ignore[method-assign]
    assert gw.start()
    booked = client.post(f"/quotes/{quotes[0]['id']}/accept")
    assert booked.status_code == 201
    del gw.tick  # back to the class's tick: progress starts
    booking = booked.json()[0]["id"]
    assert wait_for(lambda: gw.work_orders_received == 1)

    def finished() -> bool:
        row = client.get(f"/bookings/{booking}").json()
        return row["status"] == "done"

    assert wait_for(finished, 15)
    row = client.get(f"/bookings/{booking}").json()
    assert row["done"] + row["scrap"] == 30
    assert row["done"] > 0
    gw.stop()
    _clear(address, park, factory, rid)


def test_availability__replaces_the_resource_windows(world):
    client, address, park, factory, rid = world
    pub = Publisher(address)
    assert pub.start()
    windows = [{"start": "2026-12-02T08:00:00Z", "end": "2026-12-02T12:00:00Z"},
               {"start": "2026-12-03T08:00:00Z", "end": "2026-12-03T20:00:00Z"}]
    body = json.dumps({"ts": datetime.now(UTC).isoformat(), "seq": 5, "windows": windows})
    pub.publish(resource_topic(park, factory, rid, Kind.AVAILABILITY), body.encode(), qos=1)
    assert wait_for(lambda: client.get(f"/resources/{rid}").json()["windows"] == windows)
    pub.stop()


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def _clear(address, park, factory, rid):
    pub = Publisher(address)
    pub.start()
    infos = [pub.publish(f"sharefab/v1/{park}/{factory}/gateway/status", b"", qos=1, retain=True)]
    infos += [pub.publish(resource_topic(park, factory, rid, k), b"", qos=1, retain=True)
              for k in (Kind.STATE, Kind.AVAILABILITY)]
    for info in infos:
        info.wait_for_publish(timeout=5)
    pub.stop()
