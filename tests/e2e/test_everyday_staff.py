"""The fund officers' and the auditor's everyday pages in a real browser, on a desktop
(issue 17, items 11 and 12):

- a fund officer types a donation of "5,000" yuan, with the thousands separator, and it
  is recorded as ¥5,000.00;
- the officer who prepared a settlement sees no approve button, only the sentence that a
  second officer must approve it; the second officer approves;
- paying a settlement line asks once more, saying what will be recorded, before it is;
- the auditor filters the event log by the kind of record and an account's number, and
  reads the newest first, each event named in words with its details labelled (no class
  names, no JSON); the next page keeps the filters.

axe-core checks every page (serious or critical findings fail).
"""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from ledger.views import Actor
from tests.e2e.browser import DESKTOP, SHOP, VOLUNTEER, flash_ok, go, nav_to, sign_in

COORDINATOR = Actor("coordinator")


def spending(site) -> tuple[str, str]:
    """The volunteer earns 10 beans and pays the shop 3 and then 2; another volunteer
    earns too. The shop's id and the volunteer's account number."""
    ledger = site.ledger
    shop = ledger.register_merchant(SHOP, "grocery", by=Actor("admin")).id
    neighbour = ledger.open_volunteer("王芳").id
    for volunteer in (site.volunteer_id, neighbour):
        incident = ledger.submit_incident(volunteer, "other", "帮邻居搬东西")
        ledger.verify_incident(incident.id, COORDINATOR, award=10)
    for beans in (3, 2):
        ledger.redeem(shop, ledger.issue_payment_code(site.volunteer_id).code, beans)
    return shop, str(ledger.get_account(site.volunteer_id).number)


def test_officers_type_amounts_as_written_approve_in_turn_and_confirm_a_payment(site, open_as, axe):
    shop, _number = spending(site)

    # A donation of "5,000" yuan, typed with the thousands separator.
    officer1 = open_as(DESKTOP)
    sign_in(officer1, site, "officer1")
    nav_to(officer1, "基金", "基金")
    nav_to(officer1, "捐款", "捐款", axe)
    officer1.get_by_label("金额（元）").fill("5,000")
    officer1.get_by_label("捐款人").fill("昆明爱心基金会")
    officer1.get_by_label("收据编号").fill("KM-2026-0100")
    officer1.get_by_role("button", name="登记捐款").click()
    expect(flash_ok(officer1)).to_have_text("已登记捐款 ¥5,000.00（收据 KM-2026-0100）。")
    expect(officer1.locator("#donations tbody tr").first).to_contain_text("¥5,000.00")
    axe.check(officer1)

    # The officer who prepares the settlement sees no approve button, but why.
    nav_to(officer1, "结算", "结算")
    officer1.get_by_label("截止日（可选）").fill((site.today() + timedelta(days=1)).isoformat())
    officer1.get_by_role("button", name="编制结算单").click()
    expect(officer1.locator("#settlement-status")).to_have_text("已编制，等待审批")
    expect(officer1.get_by_role("button", name="审批结算单")).to_have_count(0)
    expect(officer1.locator("#approve-hint")).to_have_text(
        "这份结算单是你编制的，须由另一位基金专员审批。"
    )
    axe.check(officer1)
    settlement_url = officer1.url

    # A second officer approves it.
    officer2 = open_as(DESKTOP)
    sign_in(officer2, site, "officer2")
    go(officer2, site, settlement_url.removeprefix(site.url), "结算单")
    expect(officer2.locator("#approve-hint")).to_have_count(0)
    officer2.get_by_role("button", name="审批结算单").click()
    expect(flash_ok(officer2)).to_have_text("结算单已审批，现在可以逐笔付款。")

    # Paying the shop's line asks once more, and records nothing until confirmed.
    line = officer2.locator(f"#line-{shop}")
    line.get_by_label("银行转账流水号").fill("ICBC-20261208-007")
    line.get_by_role("button", name="登记付款").click()
    expect(officer2.get_by_role("heading", level=1)).to_have_text(f"登记向 {SHOP} 的付款？")
    expect(officer2.locator("#confirm-consequence")).to_contain_text("¥5.50")
    expect(officer2.locator("#confirm-consequence")).to_contain_text("ICBC-20261208-007")
    expect(officer2.locator("#confirm-consequence")).to_contain_text("无法撤销")
    axe.check(officer2)
    officer2.get_by_role("link", name="不，返回").click()
    expect(officer2.locator(f"#line-{shop}")).to_have_attribute("data-paid", "no")
    line = officer2.locator(f"#line-{shop}")
    line.get_by_label("银行转账流水号").fill("ICBC-20261208-007")
    line.get_by_role("button", name="登记付款").click()
    officer2.get_by_role("button", name="是的，登记付款").click()
    expect(flash_ok(officer2)).to_have_text(f"已登记向 {SHOP} 的付款（流水号 ICBC-20261208-007）。")
    expect(officer2.locator(f"#line-{shop}")).to_have_attribute("data-paid", "yes")
    expect(officer2.locator("#settlement-status")).to_have_attribute("data-status", "paid")
    axe.check(officer2)

    axe.assert_clean()


def test_the_auditor_filters_the_log_and_reads_the_newest_first_in_words(site, open_as, axe):
    _shop, number = spending(site)

    auditor = open_as(DESKTOP)
    sign_in(auditor, site, "auditor")
    nav_to(auditor, "事件日志", "事件日志", axe)
    events = auditor.locator("#events tbody tr")
    positions = [int(p) for p in events.evaluate_all("rows => rows.map(r => r.dataset.position)")]
    assert positions == sorted(positions, reverse=True)  # the newest first
    expect(events.first).to_contain_text("消费")  # the last payment

    auditor.get_by_label("记录类别").select_option(label="兑换与退款")
    auditor.get_by_label("账户号码或编号").fill(number)
    auditor.get_by_role("button", name="显示", exact=True).click()
    expect(auditor).to_have_url(re.compile(rf"kind=Redemption&account={number}"))
    expect(events).to_have_count(2)
    newest, older = events.nth(0), events.nth(1)
    for row, beans in ((newest, 2), (older, 3)):
        expect(row.locator(".event-name")).to_have_text("消费")
        details = row.locator("dl.event-details")
        expect(details.locator("div", has_text="付款人")).to_contain_text(
            f"{VOLUNTEER}（账户 {number}）"
        )
        expect(details.locator("div", has_text="商户")).to_contain_text(SHOP)
        expect(details.locator("div", has_text="金额")).to_contain_text(f"{beans} 金豆")
        expect(details.locator("div", has_text="支付方式")).to_contain_text("付款码")
    body = auditor.locator("main").inner_text()
    for raw in ("Redemption.Made", "_type_", "payer_id", "{"):
        assert raw not in body, raw
    axe.check(auditor)

    # One event a page: the older page keeps the filters.
    auditor.goto(f"{site.url}/staff/audit?kind=Redemption&account={number}&limit=1")
    expect(events).to_have_count(1)
    expect(events.first.locator("dl.event-details")).to_contain_text("2 金豆")
    auditor.get_by_role("link", name="更早的事件").click()
    expect(auditor).to_have_url(re.compile(rf"kind=Redemption&account={number}&limit=1&before="))
    expect(events).to_have_count(1)
    expect(events.first.locator("dl.event-details")).to_contain_text("3 金豆")
    expect(auditor.get_by_label("账户号码或编号")).to_have_value(number)
    axe.check(auditor)

    axe.assert_clean()
