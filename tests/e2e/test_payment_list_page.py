"""Where a shop is paid, in a real browser (issue 16), on the worked story of
tests/api/test_public_reports.py: March's settlement is approved, the grocery's line is
paid and the canteen's is not.

- The canteen's owner enters its bank details on a phone and then sees only the
  account's last four digits.
- A fund officer opens the settlement's page on a desktop, sees the shops by name,
  downloads the payment list as XLSX and CSV, and the test reads both back: one row a
  line, the amounts of the settlement, the canteen's full account number, the grocery's
  line marked as paid.

axe-core checks every page (serious or critical findings fail).
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.browser import (
    DESKTOP,
    PASSWORD,
    PHONE,
    Axe,
)
from tests.e2e.test_report_pages import site  # noqa: F401 - the story's site

ACCOUNT = "6217 0000 1111 2222 333"


def sign_in(page, site, username: str) -> None:  # noqa: F811
    page.goto(site.url + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/(pos|staff.*)$"))  # the role's start page


def test_a_shop_enters_its_bank_details_and_the_fund_officer_downloads_the_payment_list(
    site,  # noqa: F811
    open_as,  # noqa: F811
    axe: Axe,  # noqa: F811
):
    story = site.story
    site.auth.create_user("cook", PASSWORD, "merchant", merchant_id=story.canteen)
    site.auth.create_user("officer", PASSWORD, "fund_officer")

    phone = open_as(PHONE)
    sign_in(phone, site, "cook")
    phone.goto(site.url + "/shop")
    expect(phone.locator("#payee-missing")).to_be_visible()
    phone.get_by_role("link", name="填写收款账户").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("收款账户")
    axe.check(phone)
    phone.get_by_label("收款人（账户的户名）").fill("王芳")
    phone.get_by_label("开户银行").fill("中国农业银行")
    phone.get_by_label("开户支行（可不填）").fill("盘龙支行")
    phone.get_by_label("银行账号").fill(ACCOUNT)
    phone.get_by_role("button", name="保存收款账户").click()
    expect(phone.locator(".flash.ok")).to_have_text("您的收款账户已保存。")
    expect(phone.locator("#payee-account")).to_have_text("尾号 2333")
    assert "1111" not in phone.locator("body").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    axe.check(phone)

    settlement = site.community.ledger.get_settlement(story.settlement_id)
    assert settlement.status == "approved"
    due = {line.merchant_id: line.cash_fen + line.rebate_fen for line in settlement.lines}

    desk = open_as(DESKTOP)
    sign_in(desk, site, "officer")
    desk.goto(site.url + "/staff/settlements")
    desk.get_by_role("link", name="2026年3月").click()
    expect(desk.get_by_role("heading", level=1)).to_have_text("2026年3月 结算单")
    rows = desk.locator("#settlement-lines tbody th")
    expect(rows).to_have_text(["Corner Grocery", "Noodle Canteen"])
    axe.check(desk)

    with desk.expect_download() as xlsx_download:
        desk.get_by_role("link", name="付款清单（Excel）").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))
    head, *lines = list(book["付款"].iter_rows(values_only=True))
    assert head[:6] == ("商户", "收款人", "开户银行", "开户支行", "银行账号", "金额（元）")
    by_shop = {row[0]: row for row in lines}
    assert set(by_shop) == {"Corner Grocery", "Noodle Canteen"}
    amounts = {name: Decimal(str(row[5])) * 100 for name, row in by_shop.items()}
    assert amounts == {"Corner Grocery": due[story.grocery], "Noodle Canteen": due[story.canteen]}
    assert sum(amounts.values()) == settlement.total_fen
    assert by_shop["Noodle Canteen"][1:5] == (
        "王芳",
        "中国农业银行",
        "盘龙支行",
        "6217000011112222333",
    )
    assert "BANK-0407-1" in by_shop["Corner Grocery"][7]  # paid already: not again

    with desk.expect_download() as csv_download:
        desk.get_by_role("link", name="付款清单（CSV）").click()
    body = csv_download.value.path().read_bytes()
    assert body.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    listed = {row[0]: row for row in table[1 : table.index([])]}
    assert {name: Decimal(row[5]) * 100 for name, row in listed.items()} == amounts
    assert listed["Noodle Canteen"][4] == "6217 0000 1111 2222 333"
    assert re.match(r"GB-2026-03-\d{8}-[0-9a-f]{4}$", listed["Noodle Canteen"][6])
    axe.assert_clean()
