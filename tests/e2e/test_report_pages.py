"""The public report and a shop's statement in a real browser on a phone (issue 16).

The server runs the worked story of tests/api/test_public_reports.py (March and April
2026 in Kunming, on its fake clock: donations, sales, a settlement of March paid in
April), under werkzeug in a thread, on PostgreSQL when the suite has one and SQLite
otherwise. Chromium (Playwright, Debian's /usr/bin/chromium) at 390 × 844:

- a resident opens the latest report from the home page, in Chinese and then in English,
  and reads no word of the other language except names; downloads the CSV and the XLSX,
  which the test reads back (a BOM and Chinese headers; the workbook's totals are the
  JSON report's);
- a shop owner signs in, opens last month's statement and finds each sale with its time
  and amount, and totals equal to the statement JSON.

axe-core checks every page (serious or critical findings fail).
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from werkzeug.serving import make_server

from api.app import create_app
from api.serve import prepare_database
from api.settings import Settings
from projections import queries
from tests.api.test_public_reports import tell
from tests.e2e.browser import (
    PASSWORD,
    PHONE,
    SECRET,
    Axe,
)
from tests.scenario import Community

REPORTS = "/api/v1/public/fund-reports"
#: words of English a Chinese page may show: names in the story, file formats
NAMES = {"Jinsha", "Residents", "Committee", "Corner", "Grocery", "Noodle", "Canteen"}
FORMATS = {"CSV", "Excel", "PDF"}
HEX = re.compile(r"\b[0-9a-f]{64}\b")


class StorySite:
    """The app with the worked story's ledger, on a real socket."""

    def __init__(self, url: str) -> None:
        config = {"database_url": url, "secret_key": SECRET}
        prepare_database(Settings.load({**config, "admin_password": PASSWORD}), say=lambda _: None)
        self.community = Community.on(url)
        self.story = tell(self.community)
        self.app = create_app(config, ledger=self.community.ledger)
        self.auth = self.app.extensions["goldbean.auth"]
        self.auth.create_user("grocer", PASSWORD, "merchant", merchant_id=self.story.grocery)
        self.http = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def api(self, path: str, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = self.app.test_client().get(path, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_json()

    def close(self) -> None:
        self.http.shutdown()
        self.thread.join(timeout=5)
        self.app.extensions["goldbean.store"].close()
        self.community.close()


@pytest.fixture
def site(database) -> Iterator[StorySite]:  # noqa: F811 - this module's site is the story's
    running = StorySite(database)
    yield running
    running.close()


def visible_text(page) -> str:
    """What a reader reads on the page, but the language switch (which names the other
    language in that language, on purpose)."""
    text = page.locator("body").inner_text()
    switch = page.get_by_role("navigation", name=re.compile("网站|Site")).get_by_role("link").first
    return text.replace(switch.inner_text(), "")


def english_words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{2,}", HEX.sub("", text))) - NAMES - FORMATS


def test_a_resident_reads_the_latest_report_on_a_phone_and_downloads_it(
    site,
    open_as,  # noqa: F811 - the fixture of test_journey
    axe: Axe,  # noqa: F811
):
    phone = open_as(PHONE)
    phone.goto(site.url + "/")
    phone.get_by_role("link", name=re.compile("最新基金报告")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("基金报告：2026年3月")
    axe.check(phone)
    chinese = visible_text(phone)
    assert english_words(chinese) == set(), english_words(chinese)
    assert "570.8%" in chinese and "¥1,000.00" in chinese
    # the stacked tables fit the phone: nothing scrolls sideways
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    with phone.expect_download() as csv_download:
        phone.get_by_role("link", name="表格（CSV）").click()
    body = csv_download.value.path().read_bytes()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["月份", "月份已结束", "捐款"]

    report = site.api(f"{REPORTS}/2026-03")
    with phone.expect_download() as xlsx_download:
        phone.get_by_role("link", name="工作簿（Excel）").click()
    book = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))
    summary = dict(zip(*list(book["概要"].iter_rows(values_only=True)), strict=True))
    assert Decimal(str(summary["捐款（元）"])) * 100 == report["donations"]["total_fen"]
    assert Decimal(str(summary["月底余额（元）"])) * 100 == report["fund"]["balance_end_fen"]
    donations = list(book["捐款"].iter_rows(min_row=2, values_only=True))
    total = sum(Decimal(str(row[2])) for row in donations)
    assert total * 100 == report["donations"]["total_fen"]

    phone.get_by_role("link", name="English").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Fund report: March 2026")
    axe.check(phone)
    english = visible_text(phone)
    assert not re.findall(r"[\u3400-\u9fff]", english), english
    assert "570.8%" in english

    april = site.url + "/reports/2026-04"
    phone.goto(april)
    expect(phone.get_by_role("heading", name="For spending in March 2026")).to_be_visible()
    axe.check(phone)
    axe.assert_clean()


def test_a_shop_owner_finds_every_sale_of_last_month(
    site,
    open_as,  # noqa: F811 - the fixture of test_journey
    axe: Axe,  # noqa: F811
):
    token = site.auth.authenticate("grocer", PASSWORD, "127.0.0.1").token
    figures = site.api(f"/api/v1/merchants/{site.story.grocery}/statements/2026-03", token)
    with site.app.app_context():
        from api.context import reading

        with reading() as conn:
            sales = queries.month_redemptions(conn, site.story.grocery, "2026-03")
    assert sales

    phone = open_as(PHONE)
    phone.goto(site.url + "/login")
    phone.get_by_label("用户名").fill("grocer")
    phone.get_by_label("密码").fill(PASSWORD)
    phone.get_by_role("button", name="登录", exact=True).click()
    phone.wait_for_url(re.compile("/pos$"))  # the till is the shop user's start page
    phone.goto(site.url + "/shop")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Corner Grocery")
    menu = phone.get_by_role("navigation", name="我的页面")
    expect(menu.get_by_role("link", name="本店")).to_have_attribute("aria-current", "page")
    axe.check(phone)
    phone.get_by_role("link", name="2026年3月").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("对账单：2026年3月")
    axe.check(phone)

    rows = phone.locator("#sales tbody tr")
    expect(rows).to_have_count(len(sales))
    for row, sale in zip(rows.all(), sales, strict=True):
        moment = row.locator("time")
        assert moment.get_attribute("datetime") == sale["at"].isoformat()
        assert moment.inner_text().strip()  # the time, as the reader's locale writes it
        assert row.locator("td").nth(1).inner_text().strip() == str(sale["amount"])
    total = phone.locator("#sales tfoot td").first.inner_text().strip()
    assert int(total.replace(",", "")) == figures["redeemed"]
    shown = phone.locator("dl.figures").inner_text()
    assert f"¥{figures['cash_fen'] // 100}.{figures['cash_fen'] % 100:02d}" in shown
    assert "BANK-0407-1" in phone.locator("body").inner_text()
    axe.assert_clean()
