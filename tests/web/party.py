"""Helpers of the SME and factory page tests: sign in with a demo person's password, book an
order over the API as the demo SME, read a money cell."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.web.conftest import Demo


def money(text: str) -> float:
    """The number in a money cell such as "¥12,345.60" or "CN¥12,345.60"."""
    return float(re.sub(r"[^0-9.\-]", "", text))


def sign_in(page: Any, demo: Demo, org_id: str, target: str) -> dict[str, str]:
    """Log in on the login page as ``org_id``'s demo person, open ``target``; the headers of
    the token the page got (to ask the API the same questions)."""
    person = next(p for p in demo.persons if p.org_id == org_id)
    page.goto(f"{demo.base}/app/login")
    page.evaluate("localStorage.clear()")
    page.fill("#username", person.email)
    page.fill("#password", person.password)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/app/(park|sme|factory|analyst)$"))
    page.goto(f"{demo.base}{target}")
    page.wait_for_function("() => document.body.classList.contains('ready')")
    token = page.evaluate("localStorage.getItem('sharefab.token')")
    assert token
    return {"Authorization": f"Bearer {token}"}


def org_of(demo: Demo, kind: str) -> str:
    return next(p.org_id for p in demo.persons if p.kind == kind)


def book_an_order(demo: Demo, order_id: str) -> list[dict[str, Any]]:
    """As the demo SME, over the API: the tutorial's two-step order on one factory, its
    quotes, the cheapest accepted; the lots, earliest first (their ``order`` is the stored id:
    ``order_id`` in the SME's namespace)."""
    sme = {"Authorization": f"Bearer {demo.keys_by_org[org_of(demo, 'sme')]}"}
    due = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    made = httpx.post(f"{demo.base}/orders", headers=sme, timeout=10, json={
        "id": order_id, "customer": "web-test", "material": "al6061", "quantity": 200,
        "due": due, "value": 16000.0, "pricing": "cheapest", "max_factories": 1, "min_lot": 50,
        "steps": [{"id": "cut", "process": "cutting.saw", "minutes_per_piece": 0.5,
                   "setup_min": 20},
                  {"id": "mill", "process": "machining.cnc_milling", "minutes_per_piece": 4.0,
                   "setup_min": 30, "after": ["cut"]}]})
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]  # in the SME's namespace: <org>.<id> (services.auth.namespace)
    quotes = httpx.post(f"{demo.base}/orders/{order_id}/quotes", headers=sme,
                        params={"time_limit_s": 2}, timeout=60).json()
    cheapest = next(q for q in quotes if q["kind"] == "cheapest")
    booked = httpx.post(f"{demo.base}/quotes/{cheapest['id']}/accept", headers=sme, timeout=30)
    assert booked.status_code == 201, booked.text
    return sorted(booked.json(), key=lambda b: b["start"])
