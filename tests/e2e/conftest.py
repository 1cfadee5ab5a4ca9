"""Fixtures of the browser tests: a fresh database, the site on it, Chromium, axe, and a
new browser context per person (see browser.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.e2e.browser import CHROMIUM, WAIT_MS, Axe, Site, no_browser

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # reported by the browser fixture
    sync_playwright = None

try:
    import axe_playwright_python
except ImportError:  # reported by the browser fixture
    axe_playwright_python = None


@pytest.fixture
def database(request, tmp_path) -> str:
    """A fresh PostgreSQL schema when the suite has PostgreSQL, else a SQLite file."""
    if pg.resolve().kind != "none":
        try:
            return str(request.getfixturevalue("postgres_url"))
        except pytest.skip.Exception:
            pass  # no PostgreSQL after all (a throwaway cluster did not start): SQLite
    return f"sqlite:///{tmp_path / 'goldbean.sqlite3'}"


@pytest.fixture
def site(database) -> Iterator[Site]:
    running = Site(database)
    yield running
    running.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        no_browser("Playwright is not installed")
    if axe_playwright_python is None:
        no_browser("axe-playwright-python (axe-core for the accessibility checks) is not installed")
    if not Path(CHROMIUM).exists():
        no_browser(f"no Chromium at {CHROMIUM} (set GOLDBEAN_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
        except PlaywrightError as error:
            no_browser(f"Chromium cannot start here: {str(error).splitlines()[0]}")
        yield launched
        launched.close()


@pytest.fixture
def axe() -> Axe:
    return Axe()


@pytest.fixture
def open_as(browser, site) -> Iterator[Callable[..., Page]]:
    """open_as(device) -> a page in a new browser context (its own cookies)."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def new(device: dict[str, Any]) -> Page:
        context = browser.new_context(**device)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        return page

    yield new
    for context in contexts:
        context.close()
    assert not errors, f"a page's script failed: {errors}"
