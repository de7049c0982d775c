"""Webhooks (signed, retried with backoff, idempotency key) and the server-sent event stream."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.webhooks import signing
from services.webhooks.delivery import RetryPolicy, deliver_due
from tests.services import builders as b
from tests.services.auth_helpers import as_platform, bearer, grant
from tests.services.conftest import NOW, make_settings, row_counts, seed_park

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """A local HTTP endpoint answering the scripted statuses in turn (then 200)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.calls: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the http.server hook's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([500])
    yield r
    r.close()


def _quoted_order(client: Any, customer: str = "C1") -> None:
    client.post("/factories", json=b.factory("F1", resources=[b.resource("R1")]))
    client.post("/orders", json=b.order("O1", customer=customer))
    answer = client.post("/orders/O1/quotes", params={"time_limit_s": 0.5})
    assert answer.status_code == 201, answer.text


def test_webhook__signed_delivery_retried_after_failure_with_backoff(client, receiver):
    hook = client.post("/webhooks", json={"url": receiver.url, "secret": SECRET,
                                          "customer": "C1"})
    assert hook.status_code == 201, hook.text
    assert "secret" not in hook.json()
    _quoted_order(client)
    factory = client.app.state.session_factory
    t0 = datetime.now(UTC)
    policy = RetryPolicy(max_attempts=3, base_s=30.0)
    # answered 500
    assert deliver_due(factory, policy=policy, clock=lambda: t0, allow_private=True) == 1
    [d] = client.get(f"/webhooks/{hook.json()['id']}/deliveries").json()
    assert (d["status"], d["attempts"], d["last_error"]) == ("pending", 1, "HTTP 500")
    assert deliver_due(factory, policy=policy, clock=lambda: t0 + timedelta(seconds=29),
                       allow_private=True) == 0
    assert deliver_due(factory, policy=policy, clock=lambda: t0 + timedelta(seconds=31),
                       allow_private=True) == 1
    [d] = client.get(f"/webhooks/{hook.json()['id']}/deliveries").json()
    assert (d["status"], d["attempts"]) == ("delivered", 2)
    assert len(receiver.calls) == 2
    [event] = client.get("/orders/O1/events").json()
    for headers, body in receiver.calls:
        assert headers[signing.IDEMPOTENCY_HEADER.lower()] == str(event["id"])
        assert headers[signing.EVENT_TYPE_HEADER.lower()] == "quoted"
        ts = int(headers[signing.TIMESTAMP_HEADER.lower()])
        assert signing.verify(SECRET, ts, body, headers[signing.SIGNATURE_HEADER.lower()])
        assert not signing.verify("another-secret-0000", ts, body,
                                  headers[signing.SIGNATURE_HEADER.lower()])
        assert json.loads(body) == event


def test_webhook__gives_up_after_max_attempts_and_other_tenants_get_nothing(client):
    dead = Receiver([503, 503, 503])
    try:
        client.post("/webhooks", json={"url": dead.url, "secret": SECRET, "customer": "C1"})
        other = client.post("/webhooks", json={"url": dead.url, "secret": SECRET,
                                               "customer": "C2"}).json()
        _quoted_order(client)
        factory, t = client.app.state.session_factory, datetime.now(UTC)
        policy = RetryPolicy(max_attempts=3, base_s=1.0)
        for k in range(5):
            deliver_due(factory, policy=policy, clock=lambda k=k: t + timedelta(seconds=10 * k),
                        allow_private=True)
        hooks = client.get("/webhooks", params={"customer": "C1"}).json()
        [d] = client.get(f"/webhooks/{hooks[0]['id']}/deliveries").json()
        assert (d["status"], d["attempts"], d["last_error"]) == ("failed", 3, "HTTP 503")
        assert len(dead.calls) == 3
        assert client.get(f"/webhooks/{other['id']}/deliveries").json() == []
    finally:
        dead.close()


def test_webhook__unreachable_receiver_is_an_error_not_a_crash(client):
    client.post("/webhooks", json={"url": "http://127.0.0.1:9/nothing", "secret": SECRET,
                                   "customer": "C1"})
    _quoted_order(client)
    factory = client.app.state.session_factory
    assert deliver_due(factory, policy=RetryPolicy(timeout_s=2.0), allow_private=True) == 1
    hook = client.get("/webhooks").json()[0]
    [d] = client.get(f"/webhooks/{hook['id']}/deliveries").json()
    assert d["status"] == "pending"
    assert d["last_error"]


def test_webhook__bad_registration_is_422_and_stores_nothing(client):
    before = row_counts(client)
    for body in ({"url": "ftp://127.0.0.1/x", "secret": SECRET, "customer": "C1"},
                 {"url": "http://127.0.0.1/x", "secret": "short", "customer": "C1"},
                 {"url": "not a url", "secret": SECRET, "customer": "C1"}):
        assert client.post("/webhooks", json=body).status_code == 422
    assert row_counts(client) == before


def test_webhook__deleted_hook_stops_and_fails_its_pending_deliveries(client, receiver):
    hook = client.post("/webhooks", json={"url": receiver.url, "secret": SECRET,
                                          "customer": "C1"}).json()
    _quoted_order(client)
    assert client.delete(f"/webhooks/{hook['id']}").status_code == 204
    factory = client.app.state.session_factory
    assert deliver_due(factory, policy=RetryPolicy()) == 0
    assert receiver.calls == []
    [d] = client.get(f"/webhooks/{hook['id']}/deliveries").json()
    assert d["status"] == "failed"


def _read_stream(client: Any, params: dict[str, Any],
                 headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    with client.stream("GET", "/events/stream", params=params, headers=headers or {}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in answer.iter_lines():
            if not line:
                if "data" in current:
                    messages.append(current)
                current = {}
                continue
            key, _, value = line.partition(": ")
            current[key] = value
    return messages


def test_stream__a_tenants_events_as_server_sent_events(client):
    _quoted_order(client, customer="C1")
    client.post("/orders", json=b.order("O2", customer="C2"))
    client.post("/orders/O2/quotes", params={"time_limit_s": 0.5})
    offer = client.get("/orders/O1/quotes").json()[0]
    assert client.post(f"/quotes/{offer['id']}/accept").status_code == 201
    messages = _read_stream(client, {"customer": "C1", "max_events": 2})
    assert [m["event"] for m in messages] == ["quoted", "accepted"]
    assert all(json.loads(m["data"])["order"] == "O1" for m in messages)
    resumed = _read_stream(client, {"customer": "C1", "max_events": 1},
                           headers={"Last-Event-ID": messages[0]["id"]})
    assert [m["id"] for m in resumed] == [messages[1]["id"]]
    everything = _read_stream(client, {"max_events": 3})  # the platform: every tenant
    assert {json.loads(m["data"])["order"] for m in everything} == {"O1", "O2"}


def test_stream__an_sme_reads_only_its_own_organisations_events(client):
    sme_a = bearer(grant(client.app, org_id="sme-a", kind="sme"))
    sme_b = bearer(grant(client.app, org_id="sme-b", kind="sme"))
    assert client.post("/factories", json=b.factory("F1", resources=[b.resource("R1")])
                       ).status_code == 201
    # An SME's order ids are in its namespace (services.auth.namespace): sme-a.OA.
    for oid, who in (("sme-a.OA", sme_a), ("sme-b.OB", sme_b)):
        assert client.post("/orders", headers=who, json=b.order(oid)).status_code == 201
        assert client.post(f"/orders/{oid}/quotes", headers=who,
                           params={"time_limit_s": 0.5}).status_code == 201
    # Naming another tenant changes nothing: the stream is the caller's organisation's.
    mine = _read_stream(client, {"customer": "sme-b", "max_events": 1}, headers=sme_a)
    assert [json.loads(m["data"])["order"] for m in mine] == ["sme-a.OA"]
    assert client.get("/orders/sme-b.OB/events", headers=sme_a).status_code == 404
    hook = client.post("/webhooks", headers=sme_a, json={
        "url": "http://127.0.0.1:9/hook", "secret": "s" * 16, "customer": "sme-b"})
    assert hook.status_code == 201
    assert hook.json()["customer"] == "sme-a"
    assert client.get(f"/webhooks/{hook.json()['id']}/deliveries",
                      headers=sme_b).status_code == 404


def _wait_for(predicate: Any, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_housekeeper__the_api_delivers_in_process(database_url, live, receiver):
    receiver.statuses = []
    settings = make_settings(database_url, housekeeping_in_process=True,
                             housekeeping_poll_s=0.1)
    with TestClient(create_app(settings, live=live, clock=lambda: NOW)) as plain:
        seed_park(plain.app)
        api = as_platform(plain)
        api.post("/webhooks", json={"url": receiver.url, "secret": SECRET, "customer": "C1"})
        _quoted_order(api)
        assert _wait_for(lambda: len(receiver.calls) == 1)
    _, body = receiver.calls[0]
    assert json.loads(body)["type"] == "quoted"


def test_worker_webhooks__cli_process_delivers(tmp_path, receiver):
    receiver.statuses = []
    url = f"sqlite:///{tmp_path / 'hooks.db'}"
    settings = make_settings(url)
    with TestClient(create_app(settings, clock=lambda: NOW)) as plain:
        seed_park(plain.app)
        api = as_platform(plain)
        api.post("/webhooks", json={"url": receiver.url, "secret": SECRET, "customer": "C1"})
        _quoted_order(api)
    env = {**os.environ, "SHAREFAB_DATABASE_URL": url, "SHAREFAB_HOUSEKEEPING_POLL_S": "0.2",
           "SHAREFAB_WEBHOOK_ALLOW_PRIVATE": "true"}
    exe = Path(sys.executable).with_name("sharefab")
    worker = subprocess.Popen([str(exe), "worker", "webhooks"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # The worker's clock is the wall clock: past quote_ttl_s after NOW, so its sweep also
        # expires the order, and that event is delivered too.
        assert _wait_for(lambda: len(receiver.calls) == 2, timeout_s=60), \
            "the worker delivered nothing"
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, out.decode()
    assert [json.loads(body)["type"] for _, body in receiver.calls] == ["quoted", "expired"]


def test_stream__an_open_stream_gets_events_recorded_after_it_opened(client):
    got: list[list[dict[str, Any]]] = []
    reader = threading.Thread(target=lambda: got.append(
        _read_stream(client, {"customer": "C1", "max_events": 1})))
    reader.start()
    time.sleep(1.0)  # the stream is open and polling an empty history
    assert got == []
    _quoted_order(client)
    reader.join(timeout=20)
    assert not reader.is_alive()
    assert [m["event"] for m in got[0]] == ["quoted"]
