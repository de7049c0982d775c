"""Failed logins are limited per account and per client address (issue 10, "what a security
reviewer would expect"): 429 with Retry-After, counted in /metrics, settings in
docs/operations.md; the limit says nothing about which accounts exist."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from services.api.app import create_app
from services.auth.throttle import LoginThrottle, TooManyLoginsError
from services.live.memory import InMemoryLiveStore
from tests.services.auth_helpers import as_platform
from tests.services.conftest import NOW, make_settings

PASSWORD = "a long passphrase"


def _client(tmp_path: Any, **overrides: Any) -> TestClient:
    settings = make_settings(f"sqlite:///{tmp_path / 'login.db'}", **overrides)
    return TestClient(create_app(settings, live=InMemoryLiveStore(), clock=lambda: NOW))


def _login(client: TestClient, email: str, password: str) -> Any:
    return client.post("/auth/login", json={"email": email, "password": password},
                       headers={"Authorization": ""})


def _metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_login__per_account_limit_429_with_retry_after(tmp_path):
    with _client(tmp_path, login_failures_per_account=3, login_failures_per_address=100,
                 rate_limit_per_s=0) as client:
        as_platform(client)
        client.post("/orgs", json={"id": "acme", "kind": "sme"})
        client.post("/orgs/acme/users", json={"email": "buyer@acme.example",
                                               "password": PASSWORD})
        refused_before = _metric(client, 'sharefab_login_refused_total{limit="account"}')
        codes = [_login(client, "buyer@acme.example", "wrong").status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        locked = _login(client, "Buyer@acme.example", PASSWORD)  # even the right password
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 900
        assert locked.json()["errors"][0]["field"] == "authorization"
        assert _metric(client, 'sharefab_login_refused_total{limit="account"}') == \
            refused_before + 1
        assert _metric(client, "sharefab_login_failures_total") >= 3
        # Another account from the same address is not locked by this one.
        assert _login(client, "other@acme.example", "wrong").status_code == 401
        # An unknown account is limited exactly like a known one: no enumeration.
        unknown = [_login(client, "ghost@acme.example", "x").status_code for _ in range(4)]
        assert unknown == [401, 401, 401, 429]


def test_login__per_address_limit_across_accounts(tmp_path):
    with _client(tmp_path, login_failures_per_account=100, login_failures_per_address=4,
                 rate_limit_per_s=0) as client:
        codes = [_login(client, f"u{i}@acme.example", "wrong").status_code for i in range(6)]
        assert codes == [401, 401, 401, 401, 429, 429]


def _wait(throttle: LoginThrottle, email: str, address: str) -> int | None:
    """Seconds to wait, or None: let in (and counted, as an attempt still being checked)."""
    try:
        throttle.attempt(email=email, address=address)
    except TooManyLoginsError as exc:
        return exc.retry_after_s
    return None


def _fail(throttle: LoginThrottle, email: str, address: str) -> None:
    throttle.attempt(email=email, address=address)
    throttle.failed()


def test_throttle__window_slides_and_success_clears_only_the_account():
    now = [0.0]
    throttle = LoginThrottle(per_account=2, per_address=3, window_s=60, clock=lambda: now[0])
    for _ in range(2):
        _fail(throttle, "a@x", "1.1.1.1")
    assert _wait(throttle, "a@x", "2.2.2.2") == 60
    now[0] = 30.0
    assert _wait(throttle, "A@x ", "2.2.2.2") == 30  # the same account, however spelled
    now[0] = 60.0  # the two failures at 0 s have left the window
    ticket = throttle.attempt(email="b@x", address="1.1.1.1")
    throttle.failed()
    ticket = throttle.attempt(email="b@x", address="1.1.1.1")
    throttle.succeeded(email="b@x", address="1.1.1.1", ticket=ticket)
    _fail(throttle, "b@x", "1.1.1.1")
    # b's account: one failure since its success; the address: b's two failures.
    assert _wait(throttle, "b@x", "3.3.3.3") is None
    _fail(throttle, "c@x", "1.1.1.1")
    assert _wait(throttle, "e@x", "1.1.1.1") == 60


def test_throttle__parallel_attempts_count_before_their_passwords_are_checked():
    throttle = LoginThrottle(per_account=2, per_address=100, window_s=60, clock=lambda: 0.0)
    throttle.attempt(email="a@x", address="1.1.1.1")
    throttle.attempt(email="a@x", address="1.1.1.2")  # both still being checked
    assert _wait(throttle, "a@x", "1.1.1.3") == 60
