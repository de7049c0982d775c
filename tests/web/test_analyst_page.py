"""The analyst's page in real chromium against ``sharefab serve --demo``: launch two runs from
the shipped example (one edited), follow them to the end, compare their KPIs side by side
(equal to the API's), open a report, switch language; other roles get nothing.
"""

from __future__ import annotations

import json
from statistics import mean
from typing import Any

import httpx
import pytest

from tests.web.conftest import Demo, screenshot, sign_in, switch_language

pytestmark = pytest.mark.slow


def _api(demo: Demo, path: str) -> Any:
    resp = httpx.get(demo.base + path, headers=demo.headers("analyst"), timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json() if "json" in resp.headers["content-type"] else resp.text


def _launch(page: Any, title: str, seeds: str, edit: str | None = None) -> str:
    page.fill("#run-title", title)
    page.fill("#seeds", seeds)
    page.fill("#days", "0.25")
    if edit is not None:
        page.evaluate(edit)
    before = page.locator("#runs-table tr[data-run]").count()
    page.click("#launch")
    page.wait_for_function(f"() => document.querySelectorAll('#runs-table tr[data-run]')"
                           f".length > {before}")
    return str(page.locator("#runs-table tr[data-run]").first.get_attribute("data-run"))


def test_analyst_page__launch_follow_compare_report(demo: Demo, page: Any) -> None:
    sign_in(page, demo.base, demo.tokens["analyst"], lang="zh-CN")
    page.goto(f"{demo.base}/app/analyst")
    page.wait_for_selector("body[data-loaded='yes']", timeout=30_000)
    shown = json.loads(page.input_value("#config"))
    assert shown == _api(demo, "/simulations/example")
    base = _launch(page, "基线", "1, 2")
    smaller = _launch(page, "12 家工厂", "1", edit=(
        "() => { const t = document.getElementById('config');"
        " const c = JSON.parse(t.value); c.market.factories = 12;"
        " t.value = JSON.stringify(c); }"))
    for run_id in (base, smaller):
        page.wait_for_selector(f"#runs-table tr[data-run='{run_id}'][data-status='done']",
                               timeout=180_000)
        bar = page.locator(f"#runs-table tr[data-run='{run_id}'] .bar")
        assert bar.get_attribute("data-value") == "1"
    assert _api(demo, f"/simulations/{smaller}")["factories"] == 12
    # Compare the two: each cell is the API's per-seed figure averaged over the seeds.
    for run_id in (base, smaller):
        box = page.locator(f"input.compare[data-run='{run_id}']")
        if not box.is_checked():
            box.check()
    for run_id in (base, smaller):
        kpis = _api(demo, f"/simulations/{run_id}")["kpis"]
        for name in ("on_time_rate", "cost_per_order", "mean_lead_time_h", "orders"):
            cell = page.locator(f"#compare-table tr[data-kpi='{name}'] "
                                f"td[data-run='{run_id}'][data-policy='greedy']")
            assert float(str(cell.get_attribute("data-value"))) == pytest.approx(
                mean(k[name] for k in kpis if k["policy"] == "greedy"), rel=1e-12)
    assert "准时率" in str(page.locator("#compare-table").text_content())
    # The report: the API's HTML, inside the page.
    page.locator(f"button.open-report[data-run='{base}']").click()
    page.wait_for_selector(f"body[data-report='{base}']")
    srcdoc = page.get_attribute("#report-frame", "srcdoc")
    assert srcdoc == _api(demo, f"/simulations/{base}/report")
    screenshot(page, "analyst-zh-CN")
    switch_language(page, "en")
    assert page.locator("h1").first.text_content() == "Market analysis and simulations"
    assert "On-time rate" in str(page.locator("#compare-table").text_content())
    screenshot(page, "analyst-en")


@pytest.mark.parametrize("kind", ["park", "sme", "factory"])
def test_analyst_page__another_role_gets_nothing(demo: Demo, page: Any, kind: str) -> None:
    sign_in(page, demo.base, demo.tokens[kind], lang="en")
    page.goto(f"{demo.base}/app/analyst")
    page.locator("#denied").wait_for()
    assert page.locator("#runs-table").count() == 0
    assert page.locator("#config").count() == 0
    assert httpx.get(f"{demo.base}/simulations", headers=demo.headers(kind),
                     timeout=10).status_code == 403
