"""Locust users of ``bench/load.py``: SMEs posting and quoting orders, park dashboards reading.

Run only by ``bench/load.py`` (headless, against 127.0.0.1, bounded in time). It reads the
order templates and park ids the driver wrote to ``SHAREFAB_LOAD_SEED`` (JSON). A 429 is marked
a failure with the message "429 <guard>" (``rate``, ``quotes`` or ``queue``: the field of its
body, services/api/backpressure.py) so the driver can tell provoked refusals from real errors
and say which guard refused; anything else keeps its status and the start of its body.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

from locust import HttpUser, between, task

SEED: dict[str, Any] = json.loads(Path(os.environ["SHAREFAB_LOAD_SEED"])
                                  .read_text(encoding="utf-8"))


def _check(response: Any, *ok: int) -> None:
    if response.status_code in ok:
        response.success()
    elif response.status_code == 429:
        response.failure(f"429 {_guard(response)}")
    elif response.status_code == 0:  # no answer: say what the connection met
        error = getattr(response, "error", None)
        response.failure(f"no response: {type(error).__name__}: {str(error)[:160]}")
    else:
        response.failure(f"{response.status_code}: {response.text[:120]}")


def _guard(response: Any) -> str:
    """Which back-pressure guard refused: the 429 body's first error field."""
    try:
        return str(response.json()["errors"][0]["field"])
    except (ValueError, KeyError, IndexError, TypeError):
        return "unknown"


class Sme(HttpUser):
    """Posts an order, queues a quote request (or solves one now), polls its quotes."""

    weight = 2
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        # One platform key for every user (bench/load.py makes it): the accounts of
        # services.auth are not modelled per SME here, so they share one tenant's bounds.
        self.key = f"Bearer {SEED['token']}"
        self.orders: list[str] = []

    @task(3)
    def post_and_queue(self) -> None:
        order = dict(random.choice(SEED["orders"]))
        order["id"] = f"L-{uuid.uuid4().hex[:10]}"
        headers = {"Authorization": self.key}
        with self.client.post("/orders", json=order, headers=headers, name="POST /orders",
                              catch_response=True) as r:
            _check(r, 201)
        with self.client.post(f"/orders/{order['id']}/quotes?wait=false&time_limit_s=1",
                              headers=headers, name="POST /orders/{id}/quotes?wait=false",
                              catch_response=True) as r:
            _check(r, 202)
        self.orders.append(order["id"])

    @task(3)
    def poll_quotes(self) -> None:
        if self.orders:
            with self.client.get(f"/orders/{random.choice(self.orders)}/quotes",
                                 headers={"Authorization": self.key},
                                 name="GET /orders/{id}/quotes", catch_response=True) as r:
                _check(r, 200)

    @task(1)
    def quote_now(self) -> None:
        if self.orders:
            with self.client.post(f"/orders/{random.choice(self.orders)}/quotes?time_limit_s=1",
                                  headers={"Authorization": self.key},
                                  name="POST /orders/{id}/quotes (wait)",
                                  catch_response=True) as r:
                _check(r, 201, 409, 422)  # 409: booked meanwhile; 422: market cannot serve it


class ParkDashboard(HttpUser):
    """A park operator's screen: the dashboard data, its resources, the order book."""

    weight = 3
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.park = random.choice(SEED["parks"])
        self.key = f"Bearer {SEED['token']}"

    @task(3)
    def dashboard(self) -> None:
        with self.client.get("/dashboard/data", headers={"Authorization": self.key},
                             name="GET /dashboard/data", catch_response=True) as r:
            _check(r, 200)

    @task(2)
    def resources(self) -> None:
        with self.client.get(f"/resources?park={self.park}&limit=200",
                             headers={"Authorization": self.key},
                             name="GET /resources?park", catch_response=True) as r:
            _check(r, 200)

    @task(1)
    def orders(self) -> None:
        with self.client.get("/orders?limit=50", headers={"Authorization": self.key},
                             name="GET /orders", catch_response=True) as r:
            _check(r, 200)
