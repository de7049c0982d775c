"""Real-browser fixtures: Debian's chromium driven by Playwright, against a running server.

Playwright's own browser download (``playwright install``) is never used: the suite drives the
chromium that ``make test`` installs with apt-get. With CI=true a missing browser fails the
test that needs it; elsewhere it is skipped with the reason shown.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import serving
from tests.conftest import IN_CI

CHROMIUM = os.environ.get("SHAREFAB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``sharefab serve`` (embedded mode, SQLite in a temporary folder) on a free port."""
    with serving.demo_server(tmp_path_factory.mktemp("web-server")) as base:
        yield base
