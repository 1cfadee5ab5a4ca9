"""What the browser tests share: the site under test (the app on a real socket, one user
per role), the accessibility checker, and the steps every person takes (sign in, open a
page, follow the navigation). The fixtures that build them are in conftest.py.

Without a browser that starts here the tests skip, saying why; under ``CI=true`` they fail
instead (like PostgreSQL's tests, tests/conftest.py).
"""

from __future__ import annotations

import os
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from api.app import create_app
from api.serve import prepare_database
from api.settings import Settings

try:
    from playwright.sync_api import Page, expect
except ImportError:  # reported by the browser fixture
    Page = Any  # type: ignore[misc,assignment]

try:
    import axe_playwright_python
except ImportError:  # reported by the browser fixture
    axe_playwright_python = None

CHROMIUM = os.environ.get("GOLDBEAN_CHROMIUM", "/usr/bin/chromium")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
WAIT_MS = 10_000
PASSWORD = "journey-password-2026"
SECRET = "journey-secret-key-0123456789"

SHOP = "幸福便民超市"
VOLUNTEER = "李伟"
FIRE = "3号楼楼道有浓烟，配电箱冒火花"
DONOR = "昆明爱心基金会"
FIRE_AWARD = 10  # the programme's award for a fire report (ledger/rules.py)
SPENT = 6  # beans paid at the shop
#: what axe finds that fails the test
BLOCKING = ("serious", "critical")


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def no_browser(reason: str) -> None:
    """Skip, or under CI fail: the browser tests must run there."""
    if _ci():
        pytest.fail(f"CI=true: the journey's browser tests must run, but {reason}", pytrace=False)
    pytest.skip(reason)


# --- the server -------------------------------------------------------------------------------


class Site:
    """The app on a real socket (werkzeug, in a thread) on the database at ``url``, with one
    user per role created before it starts."""

    users = {
        "coordinator": "coordinator",
        "officer1": "fund_officer",
        "officer2": "fund_officer",
        "auditor": "auditor",
    }

    def __init__(self, url: str) -> None:
        config = {"database_url": url, "secret_key": SECRET}
        prepare_database(Settings.load({**config, "admin_password": PASSWORD}), say=lambda _: None)
        self.app = create_app(config)
        self.ledger = self.app.extensions["goldbean.ledger"]
        auth = self.app.extensions["goldbean.auth"]
        for username, role in self.users.items():
            auth.create_user(username, PASSWORD, role)
        self.volunteer_id = self.ledger.open_volunteer(VOLUNTEER).id
        auth.create_user("liwei", PASSWORD, "volunteer", account_id=self.volunteer_id)
        self.http = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def today(self) -> date:
        """The programme's local calendar day now."""
        return date.fromisoformat(self.ledger.day_of(self.ledger.now()))

    def period(self) -> str:
        return self.ledger.calendar.period(self.ledger.now())

    def close(self) -> None:
        self.http.shutdown()
        self.thread.join(timeout=5)
        self.app.extensions["goldbean.jobs"].join()  # the verification, if still running
        self.app.extensions["goldbean.store"].close()
        self.ledger.close()


# --- the browser --------------------------------------------------------------------------------


class Axe:
    """axe-core's checks of one page at a time; the blocking findings pile up in
    ``problems`` so that one run reports every page's."""

    def __init__(self) -> None:
        assert axe_playwright_python is not None
        self.script = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
        self.problems: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Page) -> None:
        # The pages allow only their own scripts (CSP script-src 'self'); Playwright's
        # evaluate runs axe through the DevTools protocol, which the policy does not stop.
        page.wait_for_load_state()
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(self.script)
        found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        self.checked.append(page.url)
        for violation in found["violations"]:
            if violation["impact"] not in BLOCKING:
                continue
            targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"])
            self.problems.append(
                f"{page.url}: [{violation['impact']}] {violation['id']} ({violation['help']}): "
                f"{targets}"
            )

    def assert_clean(self) -> None:
        assert not self.problems, "axe-core found serious or critical problems:\n" + "\n".join(
            self.problems
        )


# --- what people do -------------------------------------------------------------------------------


def sign_in(page: Page, site: Site, username: str, *, axe: Axe | None = None) -> None:
    page.goto(f"{site.url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    if axe:
        axe.check(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def flash_ok(page: Page) -> Any:
    return page.locator(".flash.ok")


def go(page: Page, site: Site, path: str, heading: str, axe: Axe | None = None) -> None:
    """Open ``path`` and see its heading (and check the page with axe)."""
    page.goto(site.url + path)
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    if axe:
        axe.check(page)


def nav_to(page: Page, label: str, heading: str, axe: Axe | None = None) -> None:
    """Follow the role's navigation link ``label``."""
    page.get_by_role("navigation", name="我的页面").get_by_role("link", name=label).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    if axe:
        axe.check(page)
