"""Real-browser fixtures: Debian's chromium driven by Playwright, against a running server.

Playwright's own browser download (``playwright install``) is never used: the suite drives the
chromium that ``make test`` installs with apt-get. With CI=true a missing browser fails the
test that needs it; elsewhere it is skipped with the reason shown.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from services.flows.demo_orgs import DemoPerson, read_persons
from tests import serving
from tests.conftest import IN_CI

CHROMIUM = os.environ.get("SHAREFAB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# `make screenshots` sets this: the page tests then save docs/screenshots/<page>-<lang>.png.
TAKE_SCREENSHOTS = os.environ.get("SHAREFAB_SCREENSHOTS", "") not in ("", "0")


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing browser is a failure, not a skip)")
    pytest.skip(f"{message}; `make browser` installs it")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if path is None:
        _missing(f"chromium is not installed at {CHROMIUM}")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    """One headless chromium for the session (a new page per test)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # the dev extra was not installed
        _missing("the playwright package is not installed")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    try:
        yield context.new_page()
    finally:
        context.close()


@dataclass
class Demo:
    """The running demo server: its URL, folder, one API key per org kind, its persons."""

    base: str
    folder: Path
    tokens: dict[str, str] = field(default_factory=dict)  # org kind -> first key of that kind
    keys_by_org: dict[str, str] = field(default_factory=dict)
    persons: list[DemoPerson] = field(default_factory=list)

    def person(self, kind: str) -> DemoPerson:
        return next(p for p in self.persons if p.kind == kind)

    def headers(self, kind: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[kind]}"}

    def mqtt_port(self) -> int:
        """The embedded broker's port, from the banner in the server's log."""
        log = (self.folder / "serve.log").read_text(encoding="utf-8")
        found = re.search(r"mqtt://127\.0\.0\.1:(\d+)", log)
        assert found, log
        return int(found.group(1))


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``sharefab serve --demo`` (embedded mode, SQLite in a temporary folder) on a free port."""
    folder = tmp_path_factory.mktemp("web-server")
    with serving.demo_server(folder) as base:
        path = folder / "var" / "demo-tokens.txt"
        out = Demo(base=base, folder=folder, persons=read_persons(path))
        for line in path.read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                org, kind, _role, token = line.split()
                out.tokens.setdefault(kind, token)
                out.keys_by_org[org] = token
        yield out


@pytest.fixture(scope="session")
def server(demo: Demo) -> str:
    return demo.base


def sign_in(page: Any, base: str, token: str, *, lang: str = "zh-CN") -> None:
    """Put ``token`` (and the language) where app.js looks, as the login page would."""
    page.goto(f"{base}/app/login")
    page.evaluate("([t, l]) => { localStorage.setItem('sharefab.token', t);"
                  " localStorage.setItem('sharefab.lang', l); }", [token, lang])


def switch_language(page: Any, lang: str) -> None:
    """Use the header's switch, then wait until the page says it is in ``lang``."""
    page.select_option("#lang-switch", lang)
    page.wait_for_function("l => document.documentElement.lang === l", arg=lang)


def screenshot(page: Any, name: str) -> None:
    """docs/screenshots/<name>.png, when `make screenshots` asked for it."""
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# The service tests' app fixtures (SQLite and PostgreSQL, in-process), for the page APIs'
# tests in this folder (test_park_api.py, test_analyst_api.py).
from tests.services.conftest import client, database_url, live, pg_schema_url  # noqa: E402, F401
