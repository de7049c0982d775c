"""The SME page in real chromium against the demo server: sign in with the SME's password, post
an order with the routing builder, compare the three quotes (their prices equal the API's, each
has a drawn Gantt), accept one, see the lots and the timeline, and the timeline picks up a
factory's progress report live (server-sent events) without a reload. The language switch
changes the page; bad input shows the API's 422 and stores nothing; another role gets no data.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.conftest import Demo, screenshot, switch_language
from tests.web.conftest import sign_in as put_token
from tests.web.party import book_an_order, money, org_of, sign_in

pytestmark = pytest.mark.slow


def test_sme_page__post_quote_accept_and_follow_the_order(demo: Demo, page: Any) -> None:
    headers = sign_in(page, demo, org_of(demo, "sme"), "/app/sme")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
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
    sent_id = page.input_value("#sme-order-id")

    page.click("#sme-submit")
    cards = page.locator("#sme-quotes .quote")
    cards.first.wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('#sme-quotes .quote').length >= 3")
    # The page shows the id the API stored: the SME's namespace, <org>.<id>.
    order_id = page.text_content("#sme-detail-id")
    assert order_id == f"{org_of(demo, 'sme')}.{sent_id}"
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
    headers = sign_in(page, demo, org_of(demo, "sme"), "/app/sme")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
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
    sign_in(page, demo, org_of(demo, "factory"), "/app/sme")
    page.locator("#denied").wait_for()
    assert page.locator("#sme-orders-table").count() == 0
    assert page.locator("#sme-order-form").count() == 0


def test_sme_page__rates_the_factories_once_the_order_is_done(demo: Demo, page: Any) -> None:
    lots = book_an_order(demo, "WEB-RATE-1")
    order = lots[0]["order"]
    headers = sign_in(page, demo, org_of(demo, "sme"), "/app/sme")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    page.click(f"#sme-orders-table tr[data-order='{order}'] button")
    page.locator("#sme-lots tbody tr").first.wait_for()
    assert page.locator("#sme-rating").is_hidden()  # not before the order is done
    for lot in lots:  # every lot finished by its factory, earliest first
        key = demo.keys_by_org[f"org-{lot['factory']}"]
        done = httpx.post(f"{demo.base}/bookings/{lot['id']}/progress", timeout=10,
                          headers={"Authorization": f"Bearer {key}"},
                          json={"done": lot["quantity"], "scrap": 0})
        assert done.status_code == 200, done.text
    # The stream brings the completion: the rating form appears without a reload.
    form = page.locator(f"#sme-rating-forms form[data-factory='{lots[0]['factory']}']")
    form.wait_for(timeout=15_000)
    assert page.locator("#sme-detail-status").get_attribute("data-status") == "done"
    form.locator("select[name=quality]").select_option("4")
    form.locator("select[name=on_time]").select_option("5")
    form.locator("input[name=comment]").fill("按时交货")
    form.locator("button[type=submit]").click()
    page.locator(f"#sme-ratings-given li[data-factory='{lots[0]['factory']}']").wait_for()
    ratings = httpx.get(f"{demo.base}/orders/{order}/ratings", headers=headers,
                        timeout=10).json()
    mine = [r for r in ratings if r["side"] == "customer"]
    assert [(r["factory"], r["scores"]["quality"], r["scores"]["on_time"], r["comment"])
            for r in mine] == [(lots[0]["factory"], 4, 5, "按时交货")]
    assert page.locator("#sme-timeline li[data-type=rated]").count() == 1


def test_sme_page__a_viewer_reads_but_gets_no_form_and_no_accept(demo: Demo, page: Any) -> None:
    org = org_of(demo, "sme")
    admin = {"Authorization": f"Bearer {demo.keys_by_org[org]}"}
    key = httpx.post(f"{demo.base}/orgs/{org}/keys", headers=admin, json={"role": "viewer"},
                     timeout=10)
    assert key.status_code == 201, key.text
    order = httpx.post(f"{demo.base}/orders", headers=admin, timeout=10, json={
        "id": "WEB-VIEWER-2", "customer": "web-test", "material": "al6061", "quantity": 10,
        "due": "2027-01-01T00:00:00Z", "steps": [{"id": "s1", "process": "cutting.saw",
                                                  "minutes_per_piece": 1.0}]}).json()["id"]
    httpx.post(f"{demo.base}/orders/{order}/quotes", headers=admin,
               params={"time_limit_s": 1}, timeout=60)
    put_token(page, demo.base, key.json()["token"])
    page.goto(f"{demo.base}/app/sme")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    assert page.locator("#sme-order-form").count() == 0
    page.click(f"#sme-orders-table tr[data-order='{order}'] button")
    page.locator("#sme-quotes .quote").first.wait_for()
    assert page.locator("#sme-quotes button.accept").count() == 0
    assert page.locator("#sme-get-quotes").is_hidden()
