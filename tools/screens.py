"""Screenshots of Goldbean's main pages, for each role, at phone and desktop sizes.

Run ``.venv/bin/python tools/screens.py`` (``--out DIR``, default ``docs/screens``). It
starts a demo server (``GOLDBEAN_DEMO=1 goldbean serve``, one worker) on a temporary SQLite
database and a free port of 127.0.0.1, signs in as each demo user (password
``goldbean-demo``) in headless Chromium (``/usr/bin/chromium`` unless ``GOLDBEAN_CHROMIUM``
says otherwise), saves PNG screenshots of the viewport (390x844 for a phone, 1280x900 for
a desktop), writes ``README.md`` beside them listing each image, and stops the server.

The pages are in Chinese, their default language; the fonts are the machine's (on Debian,
``fonts-wqy-microhei`` draws the Chinese). On the way, the volunteer's payment code is paid
at the demo shop's till (the POS page, signed in with the terminal token the demo server
prints), so the till shows a receipt; everything happens in the temporary database.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
GOLDBEAN = str(Path(sys.executable).with_name("goldbean"))
CHROMIUM = os.environ.get("GOLDBEAN_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "goldbean-demo"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
DEVICES = {"phone": PHONE, "desktop": DESKTOP}
TOKEN = re.compile(r"terminal token (\S+) ")


@dataclass
class Shots:
    """Where the images go, and one README line per image."""

    out: Path
    lines: list[tuple[str, str, str]] = field(default_factory=list)

    def take(self, page: Page, name: str, role: str, what: str) -> None:
        """Save the viewport of ``page`` as ``<name>.png`` (a palette PNG: small files)."""
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready.then(() => true)")
        png = page.screenshot(animations="disabled", caret="hide")
        image = Image.open(io.BytesIO(png)).convert("RGB")
        image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.NONE)
        path = self.out / f"{name}.png"
        image.save(path, optimize=True)
        self.lines.append((path.name, role, what))
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    def readme(self) -> None:
        lines = [
            "# Screenshots",
            "",
            "Goldbean's main pages, in Chinese (the default language), as each demo user sees",
            "them: phone (390x844) and desktop (1280x900), the visible part of the page only.",
            "Made by `.venv/bin/python tools/screens.py` from a fresh demo server",
            "(`GOLDBEAN_DEMO=1 goldbean serve`); run it again to refresh them.",
            "",
            "| Image | Role | Page |",
            "| --- | --- | --- |",
        ]
        lines += [f"| [{name}]({name}) | {role} | {what} |" for name, role, what in self.lines]
        (self.out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- the demo server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def demo_server() -> Iterator[tuple[str, str]]:
    """A demo server on a fresh SQLite database; yields (base URL, the till's token)."""
    with tempfile.TemporaryDirectory(prefix="goldbean-screens-") as directory:
        port = free_port()
        log = Path(directory) / "server.log"
        url = f"sqlite:///{directory}/demo.sqlite3"
        command = [GOLDBEAN, "serve", "--port", str(port), "--database-url", url]
        with log.open("w") as output:
            process = subprocess.Popen(
                [*command, "--workers", "1"],
                env={**os.environ, "GOLDBEAN_DEMO": "1"},
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the demo server did not start:\n" + log.read_text())
                try:
                    with urllib.request.urlopen(base + "/readyz", timeout=5) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    time.sleep(0.3)
            found = TOKEN.search(log.read_text())
            if not found:
                raise SystemExit("the demo server printed no terminal token:\n" + log.read_text())
            yield base, found.group(1)
        finally:
            process.terminate()
            process.wait(timeout=30)


# --- the pages ----------------------------------------------------------------------------------


class Screens:
    def __init__(self, browser: Browser, base: str, token: str, shots: Shots) -> None:
        self.browser = browser
        self.base = base
        self.token = token
        self.shots = shots

    def page(self, device: str, username: str | None = None) -> Page:
        """A page in a new browser context, signed in as ``username`` if given."""
        context = self.browser.new_context(**DEVICES[device])
        context.set_default_timeout(15_000)
        page = context.new_page()
        if username:
            page.goto(f"{self.base}/login")
            page.locator("#username").fill(username)
            page.locator("#password").fill(PASSWORD)
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(lambda url: "/login" not in url)  # the role's start page
        return page

    def open(self, page: Page, path: str) -> None:
        page.goto(self.base + path)

    def first_link(self, page: Page, path: str, selector: str) -> str:
        """The first link ``selector`` matches on ``path``."""
        self.open(page, path)
        href = page.locator(selector).first.get_attribute("href")
        if not href:
            raise SystemExit(f"no link {selector} on {path}")
        return href

    def public(self) -> None:
        for device in ("phone", "desktop"):
            page = self.page(device)
            self.open(page, "/")
            self.shots.take(page, f"public-home-{device}", "public", "Home page (`/`)")
            page.context.close()
        page = self.page("desktop")
        latest = self.first_link(page, "/", "a[href^='/reports/']")
        self.open(page, latest)
        self.shots.take(
            page, "public-report-desktop", "public", f"Monthly fund report (`{latest}`)"
        )
        self.open(page, "/reports")
        self.shots.take(page, "public-reports-desktop", "public", "Fund reports (`/reports`)")
        page.context.close()
        page = self.page("phone")
        self.open(page, latest)
        self.shots.take(page, "public-report-phone", "public", f"Monthly fund report (`{latest}`)")
        self.open(page, "/merchants")
        self.shots.take(
            page, "public-merchants-phone", "public", "Partner merchants (`/merchants`)"
        )
        self.open(page, "/login")
        self.shots.take(page, "public-login-phone", "public", "Sign in (`/login`)")
        self.open(page, "/honours")
        self.shots.take(
            page, "public-honours-phone", "public", "Quarterly honours list (`/honours`)"
        )
        self.open(page, "/leaderboard")
        self.shots.take(
            page,
            "public-leaderboard-phone",
            "public",
            "Leaderboard, opt-in names only (`/leaderboard`)",
        )
        page.context.close()

    def volunteer_and_till(self) -> None:
        page = self.page("phone", "volunteer")
        self.shots.take(page, "volunteer-me-phone", "volunteer", "Balance and history (`/me`)")
        self.open(page, "/me/report")
        self.shots.take(
            page, "volunteer-report-phone", "volunteer", "Report an incident (`/me/report`)"
        )
        self.open(page, "/me/scan")
        self.shots.take(page, "volunteer-scan-phone", "volunteer", "Scan a code (`/me/scan`)")
        self.open(page, "/me/code")
        self.shots.take(page, "volunteer-code-phone", "volunteer", "My payment code (`/me/code`)")
        code = page.locator("#code-digits").inner_text().replace(" ", "")

        till = self.page("phone")
        self.open(till, "/pos")
        till.locator("#token").fill(self.token)
        till.locator("#sign-in-button").click()
        expect(till.locator("#merchant-name")).not_to_be_empty()
        till.locator("#code").fill(code)
        keypad = till.locator(".keypad")
        keypad.get_by_role("button", name="清除", exact=True).click()
        keypad.get_by_role("button", name="3", exact=True).click()
        till.get_by_role("button", name="收款", exact=True).click()
        expect(till.locator("#receipt")).to_be_visible()
        self.shots.take(
            till, "shop-pos-phone", "shop (till)", "POS page (`/pos`) after taking a payment code"
        )
        till.context.close()

        self.open(page, "/me")
        self.open(page, "/me/give")
        self.shots.take(page, "volunteer-give-phone", "volunteer", "Give beans (`/me/give`)")
        page.context.close()
        page = self.page("desktop", "volunteer")
        self.shots.take(page, "volunteer-me-desktop", "volunteer", "Balance and history (`/me`)")
        page.context.close()

    def shop(self) -> None:
        """The shop's owner (not the till): its page, last month's statement, and where
        it is paid, after entering its bank details (the account then masked)."""
        page = self.page("phone", "shop")
        self.open(page, "/shop")
        self.shots.take(
            page, "shop-home-phone", "shop (owner)", "The shop's page (`/shop`): this month so far"
        )
        statement = self.first_link(page, "/shop", "a[href^='/shop/statements/']")
        self.open(page, statement)
        self.shots.take(
            page,
            "shop-statement-phone",
            "shop (owner)",
            f"A month's statement with every sale (`{statement}`)",
        )
        self.open(page, "/shop/payee")
        page.locator("#payee_name").fill("王芳")
        page.locator("#bank").fill("中国农业银行")
        page.locator("#branch").fill("盘龙支行")
        page.locator("#account_number").fill("6228 4800 1234 5678 901")
        page.locator("#save-payee").click()
        expect(page.locator("#payee-account")).to_have_attribute("data-masked", "yes")
        self.shots.take(
            page,
            "shop-payee-phone",
            "shop (owner)",
            "Where the shop is paid (`/shop/payee`), after saving: the account masked",
        )
        page.context.close()

    def coordinator(self) -> None:
        page = self.page("desktop", "coordinator")
        self.open(page, "/staff/incidents")
        self.shots.take(
            page,
            "coordinator-incidents-desktop",
            "coordinator",
            "Incident queue (`/staff/incidents`)",
        )
        waiting = self.first_link(
            page, "/staff/incidents?status=submitted", "#incident-queue tbody a"
        )
        self.open(page, waiting)
        self.shots.take(
            page,
            "coordinator-incident-desktop",
            "coordinator",
            "One incident waiting to be verified, with its actions",
        )
        self.open(page, "/staff/activities")
        self.shots.take(
            page,
            "coordinator-activities-desktop",
            "coordinator",
            "Activities (`/staff/activities`)",
        )
        self.open(page, "/staff/members")
        self.shots.take(
            page, "coordinator-members-desktop", "coordinator", "Members (`/staff/members`)"
        )
        self.open(page, "/staff/members/import")
        self.shots.take(
            page,
            "coordinator-import-desktop",
            "coordinator",
            "Import a roster from XLSX or CSV (`/staff/members/import`)",
        )
        page.context.close()
        page = self.page("phone", "coordinator")
        self.open(page, "/staff/incidents")
        self.shots.take(
            page,
            "coordinator-incidents-phone",
            "coordinator",
            "Incident queue (`/staff/incidents`)",
        )
        page.context.close()

    def fund_officer(self) -> None:
        page = self.page("desktop", "officer1")
        self.open(page, "/staff/fund")
        self.shots.take(
            page,
            "officer-fund-desktop",
            "fund officer",
            "The fund, its coverage and its chart (`/staff/fund`)",
        )
        self.open(page, "/staff/donations")
        self.shots.take(
            page, "officer-donations-desktop", "fund officer", "Donations (`/staff/donations`)"
        )
        settlement = self.first_link(page, "/staff/settlements", "#settlements tbody a")
        self.open(page, settlement)
        self.shots.take(
            page,
            "officer-settlement-desktop",
            "fund officer",
            "A settlement by shop name, with its payment list for the bank (CSV, Excel)",
        )
        page.context.close()
        page = self.page("phone", "officer1")
        self.open(page, "/staff/settlements")
        self.shots.take(
            page,
            "officer-settlements-phone",
            "fund officer",
            "Settlements on a phone: each row a labelled card (`/staff/settlements`)",
        )
        page.context.close()

    def auditor(self) -> None:
        page = self.page("desktop", "auditor")
        self.open(page, "/staff/audit")
        self.shots.take(page, "auditor-audit-desktop", "auditor", "Event log (`/staff/audit`)")
        page.locator("#audit-verify").click()
        expect(page.locator("#verify-result")).to_have_attribute("data-ok", "yes", timeout=120_000)
        self.shots.take(
            page, "auditor-verify-desktop", "auditor", "Verification of the whole log: OK"
        )
        page.context.close()

    def admin(self) -> None:
        page = self.page("desktop", "admin")
        self.open(page, "/staff/users")
        self.shots.take(page, "admin-users-desktop", "admin", "Users (`/staff/users`)")
        self.open(page, "/staff/rules")
        self.shots.take(
            page, "admin-rules-desktop", "admin", "Programme rules in words, and proposing a change"
        )
        merchant = self.first_link(page, "/staff/merchants", "#merchants tbody a")
        self.open(page, merchant)
        self.shots.take(
            page,
            "admin-merchant-desktop",
            "admin",
            "A merchant: its bank details, counter QR code and tills",
        )
        page.locator("#label").fill("收银台二号")
        page.locator("#create-terminal").click()
        expect(page.locator("#pairing-code")).to_be_visible()
        self.shots.take(
            page,
            "admin-pairing-desktop",
            "admin",
            "A new till: its pairing QR code and 8-digit pairing code (10 minutes, once)",
        )
        page.context.close()

    def all(self) -> list[Callable[[], None]]:
        return [self.public, self.volunteer_and_till, self.shop, self.coordinator,
                self.fund_officer, self.auditor, self.admin]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM} (set GOLDBEAN_CHROMIUM)")
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.png"):
        old.unlink()
    shots = Shots(args.out)
    print("Starting a demo server ...")
    with demo_server() as (base, token), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            for take in Screens(browser, base, token, shots).all():
                take()
        finally:
            browser.close()
    shots.readme()
    print(f"{len(shots.lines)} screenshots and README.md in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
