"""The fund officer's payment list for an approved settlement (issue 16): three shops are
settled, two of them have bank details and one has none, and one line is already paid.
The CSV and the XLSX hold one row a line with the same amounts as the settlement, name
the shop without details and the line already paid, and sum up to its total; the
settlement page names the shops (not their ids) and links to both files."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from api.payees import save_payee

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BOM = "\ufeff"


@pytest.fixture
def person(app):
    """person(role, **ids) -> a test client signed in to the pages (in Chinese)."""
    auth = app.extensions["goldbean.auth"]
    made = iter(range(1, 1000))

    def make(role: str, **ids):
        username = f"{role}-{next(made)}"
        auth.create_user(username, PASSWORD, role, **ids)
        client = app.test_client()
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
        form = {"username": username, "password": PASSWORD, "csrf_token": token}
        assert client.post("/login", data=form).status_code == 303
        return client

    return make


@pytest.fixture
def settled(app, community):
    """Three shops paid with beans; the grocery's and the canteen's bank details entered,
    the bakery's not; an approved settlement with the canteen's line already paid."""
    c, ledger = community, community.ledger
    shops = {
        "grocery": c.merchant("Corner Grocery"),
        "canteen": c.merchant("Noodle Canteen", "canteen", rebate_bps=0),
        "bakery": c.merchant("Morning Bakery", "produce"),
    }
    volunteer = c.volunteer("Li Wei")
    c.earn(volunteer, 100)
    for shop, beans in (("grocery", 23), ("canteen", 17), ("bakery", 9)):
        c.spend(volunteer, shops[shop], beans)
    c.donate(500_000)
    store = app.extensions["goldbean.store"]
    for shop, account in (("grocery", "6222 0212 3456 7890 123"), ("canteen", "95588 00011 22")):
        save_payee(
            store,
            shops[shop],
            payee_name=f"{shop} owner",
            bank="中国工商银行",
            branch="金沙支行",
            account_number=account,
            by="admin",
            at=c.now,
        )
    prepared = ledger.prepare_settlement(c.officer, cutoff=c.today + timedelta(days=1))
    ledger.approve_settlement(prepared.id, c.second_officer)
    ledger.pay_settlement_line(prepared.id, shops["canteen"], "BANK-0001", c.officer)
    return {"shops": shops, "settlement": ledger.get_settlement(prepared.id)}


def due_by_shop(settled) -> dict[str, Decimal]:
    names = {v: k for k, v in settled["shops"].items()}
    return {
        names[line.merchant_id]: Decimal(line.cash_fen + line.rebate_fen) / 100
        for line in settled["settlement"].lines
    }


@pytest.mark.parametrize("database_url", ["memory", "postgres"], indirect=True)
def test_the_csv_and_the_xlsx_hold_every_line_with_the_settlement_s_amounts(person, settled):
    officer = person("fund_officer")
    settlement = settled["settlement"]
    due = due_by_shop(settled)
    assert sum(due.values()) * 100 == settlement.total_fen
    names = {"Corner Grocery": "grocery", "Noodle Canteen": "canteen", "Morning Bakery": "bakery"}

    answer = officer.get(f"/staff/settlements/{settlement.id}/payments.csv")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["Cache-Control"] == "private, no-store"
    text = answer.get_data().decode("utf-8")
    assert text.startswith(BOM + "商户,收款人,开户银行,开户支行,银行账号,金额（元）,转账附言")
    table = list(csv.reader(io.StringIO(text[1:])))
    rows = table[1 : table.index([])]
    assert [row[0] for row in rows] == sorted(names)  # one row a line, by the shop's name
    by_shop = {names[row[0]]: row for row in rows}
    assert {shop: Decimal(row[5]) for shop, row in by_shop.items()} == due
    assert by_shop["grocery"][1:5] == [
        "grocery owner",
        "中国工商银行",
        "金沙支行",
        "6222 0212 3456 7890 123",
    ]
    assert by_shop["bakery"][1:5] == ["", "", "", ""]
    assert "缺少收款账户" in by_shop["bakery"][7]
    assert "BANK-0001" in by_shop["canteen"][7] and "不要重复" in by_shop["canteen"][7]
    assert by_shop["grocery"][7] == ""
    references = [row[6] for row in rows]
    assert len(set(references)) == 3
    assert all(ref.startswith(f"GB-{settlement.period}-") for ref in references)
    summary = dict(zip(table[-2], table[-1], strict=True))
    assert summary["笔数"] == "3"
    assert Decimal(summary["合计（元）"]) * 100 == settlement.total_fen
    assert Decimal(summary["已付（元）"]) == due["canteen"]
    assert Decimal(summary["待付（元）"]) == due["grocery"] + due["bakery"]
    assert summary["缺少收款账户的笔数"] == "1"

    book = load_workbook(
        io.BytesIO(officer.get(f"/staff/settlements/{settlement.id}/payments.xlsx").get_data())
    )
    assert book.sheetnames == ["付款", "概要"]
    sheet = list(book["付款"].iter_rows(values_only=True))
    assert sheet[0][:7] == (
        "商户",
        "收款人",
        "开户银行",
        "开户支行",
        "银行账号",
        "金额（元）",
        "转账附言",
    )
    xrows = {names[row[0]]: row for row in sheet[1:]}
    assert {
        shop: Decimal(str(row[5])).quantize(Decimal("0.01")) for shop, row in xrows.items()
    } == due
    assert xrows["grocery"][4] == "6222021234567890123"  # text: every digit kept
    assert xrows["canteen"][4] == "955880001122"
    assert xrows["bakery"][4] is None and "缺少收款账户" in xrows["bakery"][7]
    assert [row[6] for row in sheet[1:]] == references
    (head, values) = list(book["概要"].iter_rows(values_only=True))
    xsummary = dict(zip(head, values, strict=True))
    assert Decimal(str(xsummary["合计（元）"])) * 100 == settlement.total_fen


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_the_settlement_page_names_the_shops_and_links_the_list_for_officers_only(person, settled):
    settlement, shops = settled["settlement"], settled["shops"]
    html = person("fund_officer").get(f"/staff/settlements/{settlement.id}").get_data(as_text=True)
    headers = re.findall(r'<th scope="row">([^<]+)', html)
    assert sorted(headers[:3]) == ["Corner Grocery", "Morning Bakery", "Noodle Canteen"]
    assert not any(merchant_id in header for header in headers for merchant_id in shops.values())
    assert f'href="/staff/settlements/{settlement.id}/payments.xlsx"' in html
    assert f'href="/staff/settlements/{settlement.id}/payments.csv"' in html
    assert f'id="no-bank-{shops["bakery"]}"' in html and 'id="missing-bank-details"' in html
    assert f'id="no-bank-{shops["grocery"]}"' not in html

    auditor = person("auditor")
    seen = auditor.get(f"/staff/settlements/{settlement.id}").get_data(as_text=True)
    assert "payments.csv" not in seen and "Corner Grocery" in seen
    assert auditor.get(f"/staff/settlements/{settlement.id}/payments.csv").status_code == 403
    assert (
        person("admin").get(f"/staff/settlements/{settlement.id}/payments.xlsx").status_code == 403
    )


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)
def test_a_settlement_not_yet_approved_has_no_payment_list(person, community):
    c = community
    volunteer, shop = c.volunteer("Li Wei"), c.merchant("Corner Grocery")
    c.earn(volunteer, 10)
    c.spend(volunteer, shop, 5)
    prepared = c.ledger.prepare_settlement(c.officer, cutoff=c.today + timedelta(days=1))
    officer = person("fund_officer")
    page = officer.get(f"/staff/settlements/{prepared.id}").get_data(as_text=True)
    assert "payments.csv" not in page
    refused = officer.get(f"/staff/settlements/{prepared.id}/payments.csv")
    assert (refused.status_code, refused.headers["Location"]) == (
        303,
        f"/staff/settlements/{prepared.id}",
    )
