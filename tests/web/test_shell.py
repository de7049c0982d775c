"""The web app's shell in real chromium: sign in on the login page with a demo person's
password (or an API key), land on the role's page, switch language, sign out; and the routes
and assets it is built from (no CDN: every script the pages load is served by us).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from services.web.views import PAGES, PAGES_DIR
from tests.web.conftest import Demo, screenshot, switch_language

pytestmark = pytest.mark.slow


def test_shell__pages_and_assets_are_served_without_credentials(demo: Demo) -> None:
    for name in PAGES:
        if not (PAGES_DIR / f"{name}.html").exists():
            continue  # a page another change builds
        resp = httpx.get(f"{demo.base}/app/{name}", timeout=10)
        assert resp.status_code == 200, name
        assert "text/html" in resp.headers["content-type"]
        for src in re.findall(r'<script src="([^"]+)"', resp.text):
            assert src.startswith("/static/"), f"{name} loads {src} from elsewhere"
            assert httpx.get(demo.base + src, timeout=10).status_code == 200, src
    assert httpx.get(f"{demo.base}/", follow_redirects=False, timeout=10).headers[
        "location"] == "/app"
    assert httpx.get(f"{demo.base}/app/nothing", timeout=10).status_code == 404


def test_shell__login_with_password_lands_on_the_roles_page(demo: Demo, page: Any) -> None:
    person = demo.person("park")
    page.goto(f"{demo.base}/app")
    page.wait_for_url(re.compile(r"/app/login"))
    page.locator("#username").wait_for()
    screenshot(page, "login-zh-CN")
    page.fill("#username", person.email)
    page.fill("#password", "wrong password")
    page.click("#login-submit")
    page.locator(".notice-error").wait_for()
    assert "/app/login" in page.url
    page.fill("#password", person.password)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/app/park$"))
    who = page.locator("#who")
    who.wait_for()
    page.wait_for_function("() => document.getElementById('who').textContent.length > 0")
    assert person.org_id in who.text_content()
    assert "园区运营方" in who.text_content()
    switch_language(page, "en")
    assert "Park operator" in who.text_content()
    assert page.locator("#sign-out").text_content() == "Sign out"
    # The choice is remembered across a reload.
    page.reload()
    page.wait_for_function("() => document.body.classList.contains('ready')")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.click("#sign-out")
    page.wait_for_url(re.compile(r"/app/login"))
    assert page.evaluate("localStorage.getItem('sharefab.token')") is None
    screenshot(page, "login-en")


def test_shell__api_key_login_for_each_role(demo: Demo, page: Any) -> None:
    for kind, target in (("analyst", "/app/analyst"), ("sme", "/app/sme"),
                         ("factory", "/app/factory"), ("platform", "/app/park")):
        page.goto(f"{demo.base}/app/login")
        page.evaluate("localStorage.clear()")
        page.fill("#api-key", demo.tokens[kind])
        page.click("#key-submit")
        page.wait_for_url(re.compile(re.escape(target) + "$"))


def test_shell__a_revoked_or_unknown_key_goes_back_to_login(demo: Demo, page: Any) -> None:
    page.goto(f"{demo.base}/app/login")
    page.evaluate("localStorage.setItem('sharefab.token', 'sfk_00000000_not-a-key')")
    page.goto(f"{demo.base}/app/park")
    page.wait_for_url(re.compile(r"/app/login#next=%2Fapp%2Fpark"))
