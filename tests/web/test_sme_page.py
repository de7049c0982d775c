"""The SME page in real chromium against the demo server: sign in with the SME's password, post
an order with the routing builder, compare the three quotes (their prices equal the API's, each
has a drawn Gantt), accept one, see the lots and the timeline, and the timeline picks up a
factory's progress report live (server-sent events) without a reload. The language switch
changes the page; bad input shows the API's 422 and stores nothing; another role gets no data.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.web.conftest import Demo, screenshot, switch_language

pytestmark = pytest.mark.slow


def money(text: str) -> float:
    """The number in a money cell such as "¥12,345.60" or "CN¥12,345.60"."""
    return float(re.sub(r"[^0-9.\-]", "", text))


def sign_in_with_password(page: Any, demo: Demo, kind: str, target: str) -> None:
    person = demo.person(kind)
    page.goto(f"{demo.base}/app/login")
    page.evaluate("localStorage.clear()")
    page.fill("#username", person.email)
    page.fill("#password", person.password)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/app/(park|sme|factory|analyst)$"))
    page.goto(f"{demo.base}{target}")
    page.wait_for_function("() => document.body.classList.contains('ready')")


def token_of(page: Any) -> str:
    token = page.evaluate("localStorage.getItem('sharefab.token')")
    assert token
    return str(token)


def test_sme_page__post_quote_accept_and_follow_the_order(demo: Demo, page: Any) -> None:
    sign_in_with_password(page, demo, "sme", "/app/sme")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    headers = {"Authorization": f"Bearer {token_of(page)}"}
    assert page.locator("#sme-order-form").is_visible()
    assert "我的订单" in page.locator("#sme-orders h2").text_content()
    # The routing builder: the two default steps, and a third one added after "mill".
    page.click("#sme-add-step")
    rows = page.locator("#sme-steps tbody tr")
    assert rows.count() == 3
    third = rows.nth(2)
    third.locator(".step-process").select_option("surface.anodizing")
    assert third.locator(".step-after input:checked").evaluate_all(
        "xs => xs.map(x => x.value)") == ["mill"]
    third.locator(".step-remove").click()  # and removed again: the tutorial's two-step order
    assert page.locator("#sme-steps tbody tr").count() == 2
    order_id = page.input_value("#sme-order-id")

    page.click("#sme-submit")
    cards = page.locator("#sme-quotes .quote")
    cards.first.wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('#sme-quotes .quote').length >= 3")
    posted = httpx.get(f"{demo.base}/orders/{order_id}", headers=headers, timeout=10).json()
    assert [s["id"] for s in posted["steps"]] == ["cut", "mill"]
    assert posted["steps"][1]["after"] == ["cut"]
    quotes = {q["id"]: q for q in httpx.get(f"{demo.base}/orders/{order_id}/quotes",
                                             headers=headers, timeout=10).json()}
    shown = {}
    for i in range(cards.count()):
        card = cards.nth(i)
        shown[card.get_attribute("data-quote")] = money(card.locator(".total").text_content())
        quote = quotes[card.get_attribute("data-quote")]
        breakdown = card.locator("tr[data-cost=transport] td").text_content()
        assert money(breakdown) == pytest.approx(quote["cost_breakdown"]["transport"], abs=0.01)
        if quote["plan"]["status"] == "planned":  # ECharts drew the Gantt into a canvas
            assert card.locator(".gantt canvas").count() >= 1
    assert shown == pytest.approx({q: quotes[q]["total_cost"] for q in shown}, abs=0.01)
    assert set(shown) == {q for q, v in quotes.items() if v["status"] == "offered"}
    screenshot(page, "sme-zh-CN")

    cheapest = next(q for q in quotes.values()
                    if q["kind"] == "cheapest" and q["plan"]["status"] == "planned")
    page.click(f"#sme-quotes .quote[data-quote='{cheapest['id']}'] button.accept")
    page.locator("#sme-lots tbody tr").first.wait_for(timeout=30_000)
    bookings = httpx.get(f"{demo.base}/bookings", params={"order": order_id}, headers=headers,
                         timeout=10).json()
    shown_lots = page.locator("#sme-lots tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.booking, r.querySelector('.lot-done').textContent])")
    assert sorted(shown_lots) == sorted([b["id"], f"{b['done']} / {b['quantity']}"]
                                        for b in bookings)
    page.locator("#sme-timeline li[data-type=accepted]").wait_for(timeout=10_000)
    assert page.locator("#sme-detail-status").get_attribute("data-status") in (
        "accepted", "in_production")

    # The factory of the first lot reports progress over the API; the open page shows it live.
    lot = min(bookings, key=lambda b: b["start"])
    factory_key = demo.keys_by_org[f"org-{lot['factory']}"]
    reported = httpx.post(f"{demo.base}/bookings/{lot['id']}/progress",
                          headers={"Authorization": f"Bearer {factory_key}"},
                          json={"done": 7, "scrap": 1}, timeout=10)
    assert reported.status_code == 200, reported.text
    page.wait_for_function(
        "id => { const r = document.querySelector(`#sme-lots tr[data-booking='${id}']`);"
        " return r && r.querySelector('.lot-done').textContent.startsWith('7 /'); }",
        arg=lot["id"], timeout=10_000)
    assert page.locator("#sme-timeline li[data-type=progress]").count() >= 1
    assert page.locator("#sme-live-dot.on").count() == 1

    switch_language(page, "en")
    assert page.locator("#sme-orders h2").text_content() == "My orders"
    assert page.locator("#sme-detail-status").text_content() in ("accepted", "in production")
    assert page.locator(f"#sme-orders-table tr[data-order='{order_id}']").count() == 1
    page.locator("#sme-detail").scroll_into_view_if_needed()
    screenshot(page, "sme-en")


def test_sme_page__bad_input_shows_the_api_error_and_stores_nothing(demo: Demo,
                                                                    page: Any) -> None:
    sign_in_with_password(page, demo, "sme", "/app/sme")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    headers = {"Authorization": f"Bearer {token_of(page)}"}
    before = httpx.get(f"{demo.base}/orders", headers=headers, timeout=10).json()
    page.fill("#sme-quantity", "0")
    page.click("#sme-submit")
    error = page.locator("#sme-form-error")
    error.wait_for()
    assert error.text_content().startswith("422")
    assert "quantity" in error.text_content()
    after = httpx.get(f"{demo.base}/orders", headers=headers, timeout=10).json()
    assert len(after) == len(before)


def test_sme_page__another_role_sees_nothing_of_it(demo: Demo, page: Any) -> None:
    sign_in_with_password(page, demo, "factory", "/app/sme")
    page.locator("#denied").wait_for()
    assert page.locator("#sme-orders-table").count() == 0
    assert page.locator("#sme-order-form").count() == 0
