"""The factory operator page in real chromium against the demo server.

An SME's accepted quote gives a demo factory work orders; its operator signs in with the
factory's password, accepts one, declines another with a reason, reports good and scrapped
pieces (the SME's page then shows the progress in its timeline), reads its earnings and
utilization (equal to the API's), and edits a resource: removing the windows its bookings need
is refused with the 409 naming them, a new price is saved. Another role gets no data.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.web.conftest import Demo, screenshot, switch_language
from tests.web.party import book_an_order, money, org_of, sign_in

pytestmark = pytest.mark.slow


def _row(page: Any, booking_id: str) -> Any:
    return page.locator(f"#factory-work-table tr[data-booking='{booking_id}']")


def test_factory_page__work_orders_progress_earnings_and_resources(demo: Demo, page: Any,
                                                                   browser: Any) -> None:
    lots = book_an_order(demo, "WEB-FACTORY-1")
    factory = lots[0]["factory"]
    mine = [b for b in lots if b["factory"] == factory]
    assert len(mine) >= 2, lots  # max_factories=1: every lot on one factory
    first, other = mine[0], mine[-1]
    headers = sign_in(page, demo, f"org-{factory}", "/app/factory")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    row = _row(page, first["id"])
    row.wait_for()
    assert page.locator("#factory-picker").input_value() == factory
    assert row.locator(".work-order").get_attribute("data-status") == "sent"
    assert money(row.locator(".price").text_content()) == pytest.approx(first["cost"], abs=0.01)

    # Accept one work order, decline another.
    row.locator("button.accept-work").click()
    page.wait_for_function(
        "id => document.querySelector(`tr[data-booking='${id}'] .work-order`)"
        ".dataset.status === 'accepted'", arg=first["id"])
    api = httpx.get(f"{demo.base}/bookings/{first['id']}", headers=headers, timeout=10).json()
    assert api["work_order_status"] == "accepted"
    decline = _row(page, other["id"])
    decline.locator("button.decline-work").click()  # without a reason: the page asks for one
    assert page.locator("#factory-work-error").is_visible()
    decline.locator(".decline-reason").fill("spindle overhaul")
    decline.locator("button.decline-work").click()
    page.wait_for_function(
        "id => { const r = document.querySelector(`tr[data-booking='${id}']`);"
        " return !r || r.querySelector('.work-order').dataset.status === 'declined'; }",
        arg=other["id"])
    declined = httpx.get(f"{demo.base}/bookings/{other['id']}", headers=headers,
                         timeout=10).json()
    assert declined["work_order_status"] == "declined"

    # Progress for a machine without a gateway: good and scrapped pieces.
    row.locator(".progress-done").fill("10")
    row.locator(".progress-scrap").fill("2")
    row.locator("button.report-progress").click()
    page.wait_for_function(
        "id => document.querySelector(`tr[data-booking='${id}'] .lot-done`)"
        ".textContent.startsWith('10 /')", arg=first["id"])
    api = httpx.get(f"{demo.base}/bookings/{first['id']}", headers=headers, timeout=10).json()
    assert (api["done"], api["scrap"]) == (10, 2)

    # Earnings and utilization: what the page shows is what the API says.
    earnings = httpx.get(f"{demo.base}/factories/{factory}/earnings", headers=headers,
                         timeout=10).json()
    page.wait_for_function(
        "v => document.getElementById('factory-earned').textContent.replace(/[^0-9.]/g, '')"
        " === v", arg=f"{earnings['earned_cny']:.2f}")
    assert money(page.text_content("#factory-booked")) == pytest.approx(earnings["booked_cny"],
                                                                        abs=0.01)
    lot_earned = next(x for x in earnings["lots"] if x["booking"] == first["id"])
    assert lot_earned["earned_cny"] == pytest.approx(first["cost"] * 10 / first["quantity"],
                                                     abs=0.01)
    assert money(_row(page, first["id"]).locator(".earned").text_content()) == pytest.approx(
        lot_earned["earned_cny"], abs=0.01)
    assert earnings["earned_cny"] > 0
    use = httpx.get(f"{demo.base}/factories/{factory}/utilization", headers=headers,
                    timeout=10).json()
    shown = float(re.sub(r"[^0-9.]", "", page.text_content("#factory-utilization")))
    assert shown == pytest.approx(100 * use["utilization"], abs=0.051)
    assert page.locator("#factory-earnings-chart canvas").count() >= 1
    screenshot(page, "factory-zh-CN")

    # The SME's page shows the factory's answer and its progress in the order's timeline.
    sme_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        sme_page = sme_context.new_page()
        sign_in(sme_page, demo, org_of(demo, "sme"), "/app/sme")
        sme_page.wait_for_function("() => document.body.dataset.ready === '1'")
        sme_page.click(f"#sme-orders-table tr[data-order='{lots[0]['order']}'] button")
        sme_page.locator("#sme-timeline li[data-type=work_order_accepted]").wait_for()
        sme_page.locator("#sme-timeline li[data-type=progress]").wait_for()
        assert sme_page.locator("#sme-timeline li[data-type=declined]").count() == 1
    finally:
        sme_context.close()

    # Resources: removing the windows a booking needs is refused, naming the booking.
    card = page.locator(f".resource[data-resource='{first['resource']}']")
    while card.locator(".window-remove").count():
        card.locator(".window-remove").first.click()
    card.locator("button.save-resource").click()
    error = card.locator(".resource-error")
    error.wait_for()
    assert error.text_content().startswith("409")
    assert first["id"] in error.text_content()
    page.reload()
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    card = page.locator(f".resource[data-resource='{first['resource']}']")
    card.locator("input[name=per_piece]").fill("3.75")
    card.locator("button.save-resource").click()
    page.locator(f".resource[data-resource='{first['resource']}'] .resource-saved").wait_for()
    resource = httpx.get(f"{demo.base}/resources/{first['resource']}", headers=headers,
                         timeout=10).json()
    assert resource["pricing"]["per_piece"] == 3.75
    assert resource["windows"], "the refused change stored nothing"

    switch_language(page, "en")
    assert page.text_content("#factory-work h2") == "Incoming work orders"
    assert _row(page, first["id"]).locator(".work-order").text_content() == "accepted"
    screenshot(page, "factory-en")


def test_factory_page__another_role_sees_nothing_of_it(demo: Demo, page: Any) -> None:
    sign_in(page, demo, org_of(demo, "sme"), "/app/factory")
    page.locator("#denied").wait_for()
    assert page.locator("#factory-work-table").count() == 0
    assert page.locator("#factory-resource-list").count() == 0


def test_factory_page__another_factory_sees_only_its_own(demo: Demo, page: Any) -> None:
    lots = book_an_order(demo, "WEB-FACTORY-2")
    owner = lots[0]["factory"]
    other = next(p.org_id for p in demo.persons
                 if p.kind == "factory" and p.org_id != f"org-{owner}")
    sign_in(page, demo, other, "/app/factory")
    page.wait_for_function("() => document.body.dataset.ready === '1'")
    options = page.locator("#factory-picker option").evaluate_all("xs => xs.map(x => x.value)")
    assert options == [other.removeprefix("org-")]
    for lot in lots:
        assert _row(page, lot["id"]).count() == 0
