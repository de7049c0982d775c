"""Calendar and capacity facts a factory's gateway sends over MQTT are in the audit trail, with
the gateway (on behalf of its factory organisation) as actor (issue 10: "price, window and
capacity changes" audited).

The ingest's database effects (services.workers.ingest.DbEffects) are what every MQTT
availability and ``down`` state runs through; they are called here as the ingest calls them,
and one test sends the message through the real Mosquitto.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from connectors.mqtt import BrokerAddress, Publisher
from connectors.topics import Kind, resource_topic
from domain.model import Window
from services.api.app import create_app
from services.core.settings import Settings
from services.workers.ingest import DbEffects
from tests.connectors.realservers import wait_for
from tests.services import builders as b
from tests.services.auth_helpers import as_platform, bearer, grant

T0 = datetime(2026, 12, 2, 8, tzinfo=UTC)


def _gateway_events(client: TestClient, headers: dict[str, str]) -> list[dict]:
    return [e for e in client.get("/audit", headers=headers).json()
            if e["actor"].startswith("gateway:")]


def test_availability_over_mqtt__audited_with_the_gateway_as_actor(client):
    fac_a = bearer(grant(client.app, org_id="fac-a", kind="factory"))
    sme = bearer(grant(client.app, org_id="sme-a", kind="sme"))
    client.post("/factories", json={**b.factory("FA", park="P9"), "org": "fac-a"})
    before = client.get("/resources/FA-R1").json()["windows"]
    effects = DbEffects(client.app.state.session_factory, clock=lambda: T0)
    calendar = [Window(start=T0, end=T0.replace(hour=12))]
    effects.replace_windows("FA-R1", calendar)
    effects.replace_windows("FA-R1", calendar)  # re-published unchanged: no change, no event
    events = _gateway_events(client, fac_a)  # the factory sees what its gateway did
    assert [e["action"] for e in events] == ["resource.windows_replaced"]
    (event,) = events
    assert (event["actor"], event["actor_org"], event["owner_org"],
            event["object_type"], event["object_id"]) == (
        "gateway:gw/P9/FA", "fac-a", "fac-a", "resource", "FA-R1")
    assert event["before"]["windows"] == before
    assert event["after"]["windows"] == [{"start": "2026-12-02T08:00:00Z",
                                          "end": "2026-12-02T12:00:00Z"}]
    assert _gateway_events(client, sme) == []  # nobody else's business
    assert len(_gateway_events(client, client.headers)) == 1  # the platform sees all


def test_down_over_mqtt__audited_when_it_repairs_booked_orders(client):
    fac_a = bearer(grant(client.app, org_id="fac-a", kind="factory"))
    client.post("/factories", json={**b.factory("FA", park="P9"), "org": "fac-a"})
    effects = DbEffects(client.app.state.session_factory, clock=lambda: T0)
    effects.resource_down("FA-R1")  # nothing booked on it: the live state is all it changes
    assert _gateway_events(client, fac_a) == []
    client.post("/orders", json=b.order("O1"))
    quotes = client.post("/orders/O1/quotes", params={"time_limit_s": 1}).json()
    quote = next(q for q in quotes if q["plan"]["status"] == "planned")
    assert client.post(f"/quotes/{quote['id']}/accept").status_code == 201
    effects.resource_down("FA-R1")
    effects.resource_down("FA-R1")  # the next heartbeat, still down: its lots already moved
    (event,) = _gateway_events(client, fac_a)
    assert (event["action"], event["actor"], event["actor_org"]) == (
        "resource.down", "gateway:gw/P9/FA", "fac-a")
    assert event["after"] == {"status": "down", "repaired_orders": ["O1"]}


def test_unknown_resource__nothing_audited(client):
    effects = DbEffects(client.app.state.session_factory, clock=lambda: T0)
    with pytest.raises(Exception, match="resource"):
        effects.replace_windows("NOPE", [Window(start=T0, end=T0.replace(hour=12))])
    assert _gateway_events(client, client.headers) == []


@pytest.mark.mosquitto
@pytest.mark.redis
def test_availability_through_mosquitto__audited(tmp_path, mqtt_url, redis_url):
    tag = uuid.uuid4().hex[:8]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}", environment="test",
                        redis_url=redis_url, mqtt_url=mqtt_url, redis_key_prefix=f"t{tag}:",
                        mqtt_share_group=f"g{tag}")
    park, factory, rid = f"P{tag}", f"F{tag}", f"F{tag}-R1"
    with TestClient(create_app(settings)) as client:
        as_platform(client)
        client.post("/orgs", json={"id": f"org-{tag}", "kind": "factory"})
        client.post("/parks", json={"id": park})
        assert client.post("/factories", json={**b.factory(factory, park=park, resources=[
            b.resource(rid)]), "org": f"org-{tag}"}).status_code == 201
        pub = Publisher(BrokerAddress.from_url(mqtt_url))
        assert pub.start()
        windows = [{"start": "2026-12-03T08:00:00Z", "end": "2026-12-03T20:00:00Z"}]
        body = json.dumps({"ts": datetime.now(UTC).isoformat(), "seq": 1, "windows": windows})
        pub.publish(resource_topic(park, factory, rid, Kind.AVAILABILITY), body.encode(), qos=1)

        def audited() -> list[dict]:
            return [e for e in client.get("/audit", params={"object_id": rid}).json()
                    if e["action"] == "resource.windows_replaced"]

        assert wait_for(lambda: audited() != [])
        (event,) = audited()
        assert (event["actor"], event["actor_org"]) == (f"gateway:gw/{park}/{factory}",
                                                        f"org-{tag}")
        assert event["after"]["windows"] == windows
        pub.publish(resource_topic(park, factory, rid, Kind.AVAILABILITY), b"", qos=1,
                    retain=True).wait_for_publish(timeout=5)
        pub.stop()
        client.app.state.live.state.clear()
