"""Webhook targets: internal addresses refused at registration and at delivery (SSRF)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.webhooks import egress
from services.webhooks.delivery import RetryPolicy, deliver_due
from tests.services import builders as b
from tests.services.auth_helpers import as_platform
from tests.services.conftest import NOW, make_settings, row_counts, seed_park
from tests.services.test_webhooks_stream import SECRET, Receiver

INTERNAL = ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook",
            "http://192.168.0.7/hook", "http://172.16.5.5/hook", "http://169.254.169.254/latest",
            "http://224.0.0.1/hook", "http://0.0.0.0/hook", "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook", "http://[fe80::1]/hook", "http://100.64.0.1/x",
            "https://no-such-host.invalid/hook"]


@pytest.fixture
def strict(database_url: str, live: Any) -> Iterator[TestClient]:
    """The API with the default: webhooks to public addresses only."""
    app = create_app(make_settings(database_url, webhook_allow_private=False), live=live,
                     clock=lambda: NOW)
    with TestClient(app) as c:
        seed_park(app)
        yield as_platform(c)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "224.0.0.5",
                                     "0.0.0.0", "::1", "::ffff:10.0.0.1", "fe80::1", "fc00::1"])
def test_why_refused__internal_addresses(address: str) -> None:
    import ipaddress

    assert egress.why_refused(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_why_refused__public_addresses_pass(address: str) -> None:
    import ipaddress

    assert egress.why_refused(ipaddress.ip_address(address)) is None


def test_webhook__internal_target_is_422_and_stores_nothing(strict: TestClient) -> None:
    before = row_counts(strict)
    for url in INTERNAL:
        answer = strict.post("/webhooks", json={"url": url, "secret": SECRET,
                                                "customer": "C1"})
        assert answer.status_code == 422, (url, answer.text)
        assert "body.url" in answer.text or "url" in answer.text
    assert row_counts(strict) == before


def test_webhook__public_literal_is_registered(strict: TestClient) -> None:
    answer = strict.post("/webhooks", json={"url": "https://93.184.216.34/hook",
                                            "secret": SECRET, "customer": "C1"})
    assert answer.status_code == 201, answer.text


def test_webhook__a_name_rebound_to_loopback_after_registration_is_not_delivered(
        strict: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: public when registered, 127.0.0.1 (where a service listens) when sent."""
    inside = Receiver([])
    port = inside.server.server_address[1]
    answers = {"now": "93.184.216.34"}
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.customer.example":
            return real(answers["now"], *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    try:
        hook = strict.post("/webhooks", json={"url": f"http://hooks.customer.example:{port}/h",
                                              "secret": SECRET, "customer": "C1"})
        assert hook.status_code == 201, hook.text
        strict.post("/factories", json=b.factory("F1", resources=[b.resource("R1")]))
        strict.post("/orders", json=b.order("O1", customer="C1"))
        assert strict.post("/orders/O1/quotes", params={"time_limit_s": 0.5}).status_code == 201
        answers["now"] = "127.0.0.1"  # the attacker's DNS now points inside
        factory = strict.app.state.session_factory  # type: ignore[attr-defined]
        assert deliver_due(factory, policy=RetryPolicy(timeout_s=2.0),
                           clock=lambda: datetime.now(UTC)) == 1
        assert inside.calls == []
        [d] = strict.get(f"/webhooks/{hook.json()['id']}/deliveries").json()
        assert d["status"] == "pending"
        assert "loopback" in d["last_error"]
        # The same delivery with the setting that allows local receivers goes through.
        deliver_due(factory, policy=RetryPolicy(base_s=0.001), allow_private=True,
                    clock=lambda: datetime.now(UTC).replace(year=2100))
        assert len(inside.calls) == 1
    finally:
        inside.close()
