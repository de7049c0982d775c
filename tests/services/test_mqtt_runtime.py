"""The embedded mode of ``make run``: amqtt broker in-process, fakeredis, demo gateways.

No outside server: this is the one place where the in-process broker and fakeredis are the
system under test (the real-server behaviour is tested against Mosquitto and Redis).
"""

from fastapi.testclient import TestClient

from services.api.app import create_app
from services.core.settings import Settings
from tests.connectors.realservers import wait_for
from tests.services.auth_helpers import as_platform


def test_embedded_demo__gateways_bring_the_park_alive(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}", environment="test",
                        quote_default_time_limit_s=1.0)
    app = create_app(settings, demo=True)
    with TestClient(app) as client:
        as_platform(client)
        runtime_gateways = app.state.dispatcher is not None
        assert runtime_gateways
        resources = client.get("/resources").json()
        assert resources, "the demo seeded no resources"

        def live_count() -> int:
            rows = client.get("/resources").json()
            return sum(1 for r in rows if r.get("live"))

        assert wait_for(lambda: live_count() == len(resources), 20)
        statuses = {r["live"]["status"] for r in client.get("/resources").json()}
        assert statuses <= {"idle", "running", "down"}
        metrics = client.get("/metrics").text
        assert "sharefab_mqtt_messages_total" in metrics
        assert 'sharefab_resources{status="offline"} 0.0' in metrics
