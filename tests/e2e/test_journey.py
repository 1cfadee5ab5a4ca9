"""Every role's main flow through the pages, in a real browser against a real server.

Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright) signs in as each person in
turn, each in a browser context of their own (their own cookies; a phone for the
volunteer, the till and the public, a desktop for the staff), and does what they would do,
in Chinese (the default language):

- the admin registers a shop and creates a terminal for its till (the token shown once);
- a volunteer reports an urgent fire from a phone;
- a coordinator verifies it from the incident queue: the volunteer is awarded;
- the volunteer opens "my payment code" and reads its digits, which the shop's till (the
  POS page, signed in with the new terminal token) redeems for some beans;
- a fund officer records a donation in yuan and prepares a settlement; its preparer
  sees no approve button (four eyes); a second fund officer approves it and pays the shop's
  line, confirming the payment once more;
- the public home page and the month's fund report show the donation and the payment;
- the auditor's verification of the whole log says OK, and the admin sees the users.

At each step the test reads what the person reads (balances, statuses, the messages), and
axe-core (the copy bundled by the axe-playwright-python package) checks each page: any
violation of impact "serious" or "critical" fails the test, listed with its elements. A
shorter pass checks the pages in English (``?lang=en``), and one form, the incident report,
is filled in and sent with the keyboard alone.

The server is the app under werkzeug in a thread of the test process, on the system clock,
on PostgreSQL when the suite has one (tests/pg.py) and on SQLite otherwise; its users are
created in its database before it starts (the admin from the admin password, as
``goldbean serve`` does, the others with :meth:`api.auth.Auth.create_user`).

Without a browser that starts here the tests skip, saying why; under ``CI=true`` they fail
instead (like tests/e2e/test_pos_page.py and PostgreSQL's tests, tests/conftest.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from api.dates import month_text
from tests.e2e.browser import (
    DESKTOP,
    DONOR,
    FIRE,
    FIRE_AWARD,
    PASSWORD,
    PHONE,
    SHOP,
    SPENT,
    VOLUNTEER,
    flash_ok,
    go,
    nav_to,
    sign_in,
)

# --- the journey ---------------------------------------------------------------------------------


def test_every_role_does_its_part_from_a_fire_report_to_the_public_report(site, open_as, axe):
    # The admin registers the shop and creates a terminal for its till.
    admin = open_as(DESKTOP)
    sign_in(admin, site, "admin")
    nav_to(admin, "商户", "商户", axe)
    admin.get_by_label("商户名称").fill(SHOP)
    admin.get_by_label("类别").select_option("grocery")
    admin.get_by_role("button", name="登记商户").click()
    expect(flash_ok(admin)).to_have_text(f"已登记商户 {SHOP}。")
    expect(admin.get_by_role("heading", level=1)).to_have_text(SHOP)  # the shop's page
    expect(admin.locator("#merchant-status")).to_have_attribute("data-status", "active")
    axe.check(admin)
    shop_id = admin.url.rsplit("/", 1)[1]
    admin.get_by_label("名称").fill("收银台一号")
    admin.get_by_role("button", name="创建收银台").click()
    expect(admin.locator("#token-warning")).to_contain_text("它只显示这一次")
    token = admin.get_by_label("收银台令牌").input_value()
    assert len(token) >= 32
    axe.check(admin)
    go(admin, site, "/staff/rules", "项目规则", axe)

    # The public sees the programme, and the volunteer signs in on a phone.
    phone = open_as(PHONE)
    go(phone, site, "/", "金豆社区志愿积分", axe)
    expect(phone.get_by_role("list", name="合作商户")).to_contain_text(SHOP)
    sign_in(phone, site, "liwei", axe=axe)
    expect(phone).to_have_url(f"{site.url}/me")
    expect(phone.locator("#me-balance")).to_have_text("0")
    expect(phone.locator("#me-history-empty")).to_have_text("还没有记录。")
    axe.check(phone)

    # ... and reports an urgent fire.
    phone.get_by_role("link", name="上报事件").first.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("上报事件")
    axe.check(phone)
    phone.get_by_label("事件类型").select_option("fire")
    phone.get_by_label("发生了什么？").fill(FIRE)
    phone.get_by_label("地点（选填）").fill("3号楼2单元")
    phone.get_by_label("紧急：现在就有人需要帮助").check()
    phone.get_by_role("button", name="提交上报").click()
    expect(flash_ok(phone)).to_have_text("谢谢！您的上报已提交，协调员会尽快核实。")
    mine = phone.locator("#my-reports li").first
    expect(mine).to_contain_text("火灾隐患")
    expect(mine).to_contain_text("紧急")
    expect(mine.locator(".status")).to_have_text("等待协调员核实")
    expect(mine).to_contain_text(FIRE)

    # A coordinator finds it first in the queue and verifies it.
    coordinator = open_as(DESKTOP)
    sign_in(coordinator, site, "coordinator")
    nav_to(coordinator, "事件", "事件队列", axe)
    row = coordinator.locator("#incident-queue tr.incident").first
    expect(row).to_have_class(re.compile(r"\bis-urgent\b"))
    expect(row).to_have_attribute("data-status", "submitted")
    expect(row).to_contain_text("火灾隐患")
    expect(row).to_contain_text(VOLUNTEER)
    expect(row).to_contain_text("待核实")
    row.get_by_role("link", name=FIRE).click()
    expect(coordinator.get_by_role("heading", level=1)).to_contain_text("事件：火灾隐患")
    expect(coordinator.locator("#incident-status")).to_have_text("待核实")
    axe.check(coordinator)
    award = coordinator.get_by_label("给上报人的奖励（金豆）")
    expect(award).to_have_value(str(FIRE_AWARD))  # the programme's award for a fire
    coordinator.get_by_role("button", name="核实并奖励").click()
    expect(flash_ok(coordinator)).to_have_text(f"已核实，上报人获得 {FIRE_AWARD} 金豆。")
    expect(coordinator.locator("#incident-status")).to_have_text("已核实")
    expect(coordinator.locator("#verify-form")).to_have_count(0)
    axe.check(coordinator)
    # The coordinator's other pages; the volunteer's balance on their member page.
    nav_to(coordinator, "活动", "活动", axe)
    nav_to(coordinator, "成员", "成员", axe)
    coordinator.get_by_role("link", name=VOLUNTEER).click()
    expect(coordinator.locator("#member-balance")).to_have_text(f"{FIRE_AWARD} 金豆")
    axe.check(coordinator)

    # The volunteer sees the award.
    phone.reload()
    expect(mine.locator(".status")).to_have_text("已核实")
    expect(mine.locator(".award")).to_have_text(f"奖励 {FIRE_AWARD} 金豆")
    nav_to(phone, "我的金豆", "我的金豆")
    expect(phone.locator("#me-balance")).to_have_text(str(FIRE_AWARD))
    history = phone.locator("#me-history tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("上报奖励")
    expect(history.first.locator("td.num")).to_have_text(f"+{FIRE_AWARD}")
    nav_to(phone, "扫码", "扫码", axe)
    nav_to(phone, "赠送", "赠送金豆", axe)
    expect(phone.locator("#give-balance")).to_contain_text(f"{FIRE_AWARD} 金豆")

    # ... opens the payment code and reads its digits to the till.
    nav_to(phone, "付款码", "我的付款码", axe)
    digits = phone.locator("#code-digits").inner_text()
    assert re.fullmatch(r"\d{4}( \d{4})+( \d{1,4})?", digits), digits
    code = digits.replace(" ", "")
    expect(phone.locator("#code-qr svg title")).to_have_text(code)

    # The shop's till takes the code for 6 beans.
    till = open_as(PHONE)
    till.goto(f"{site.url}/pos")
    till.get_by_label("收银台令牌").fill(token)
    till.get_by_role("button", name="登录", exact=True).click()
    expect(till.locator("#merchant-name")).to_have_text(SHOP)
    till.get_by_label("付款码或金豆卡号").fill(code)
    expect(till.locator("#code-kind")).to_contain_text("付款码")
    till.get_by_role("button", name="清除", exact=True).click()
    till.locator(".keypad").get_by_role("button", name=str(SPENT), exact=True).click()
    expect(till.locator("#amount")).to_have_text(str(SPENT))
    till.get_by_role("button", name="收款", exact=True).click()
    expect(till.locator("#receipt")).to_be_visible()
    expect(till.locator("#receipt-amount")).to_have_text(str(SPENT))
    expect(till.locator("#total-redeemed")).to_have_text(str(SPENT))
    axe.check(till)

    # The volunteer's beans went down; the history names the shop.
    nav_to(phone, "我的金豆", "我的金豆")
    expect(phone.locator("#me-balance")).to_have_text(str(FIRE_AWARD - SPENT))
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text(f"在{SHOP}消费")
    expect(history.first.locator("td.num")).to_have_text(f"−{SPENT}")

    # A fund officer records a donation and prepares the settlement.
    officer1 = open_as(DESKTOP)
    sign_in(officer1, site, "officer1")
    nav_to(officer1, "基金", "基金", axe)
    nav_to(officer1, "捐款", "捐款", axe)
    officer1.get_by_label("金额（元）").fill("500")
    officer1.get_by_label("捐款人").fill(DONOR)
    expect(officer1.get_by_label("收款日期")).to_have_value(site.today().isoformat())
    officer1.get_by_label("收据编号").fill("KM-2026-0001")
    officer1.get_by_role("button", name="登记捐款").click()
    expect(flash_ok(officer1)).to_have_text("已登记捐款 ¥500.00（收据 KM-2026-0001）。")
    donation = officer1.locator("#donations tbody tr").first
    expect(donation).to_contain_text(DONOR)
    expect(donation).to_contain_text("¥500.00")
    axe.check(officer1)
    nav_to(officer1, "结算", "结算", axe)
    officer1.get_by_label("截止日（可选）").fill((site.today() + timedelta(days=1)).isoformat())
    officer1.get_by_role("button", name="编制结算单").click()
    period = site.period()
    month = month_text(period)  # 2026年12月, as docs/GLOSSARY.md writes a month
    expect(flash_ok(officer1)).to_have_text(f"{month} 的结算单已编制，须由另一位基金专员审批。")
    expect(officer1.locator("#settlement-status")).to_have_text("已编制，等待审批")
    line = officer1.locator(f"#line-{shop_id}")
    expect(line).to_have_attribute("data-paid", "no")
    expect(line.locator("td")).to_have_text(
        [str(SPENT), "¥6.00", "¥0.60", "¥6.60", "未付：等待审批"]
    )
    axe.check(officer1)
    settlement_url = officer1.url
    # Its preparer cannot approve it (four eyes): no button, but why.
    expect(officer1.locator("#approve-hint")).to_be_visible()
    expect(officer1.get_by_role("button", name="审批结算单")).to_have_count(0)
    expect(officer1.locator("#settlement-status")).to_have_text("已编制，等待审批")

    # The second fund officer approves it and pays the shop's line.
    officer2 = open_as(DESKTOP)
    sign_in(officer2, site, "officer2")
    nav_to(officer2, "结算", "结算")
    listed = officer2.locator("#settlements tbody tr").first
    expect(listed).to_contain_text("已编制，等待审批")
    listed.get_by_role("link", name=month).click()
    expect(officer2).to_have_url(settlement_url)
    expect(officer2.locator("#approve-hint")).to_have_count(0)
    officer2.get_by_role("button", name="审批结算单").click()
    expect(flash_ok(officer2)).to_have_text("结算单已审批，现在可以逐笔付款。")
    expect(officer2.locator("#settlement-status")).to_have_text("已审批，付款中")
    line = officer2.locator(f"#line-{shop_id}")
    line.get_by_label("银行转账流水号").fill("ICBC-20261121-001")
    axe.check(officer2)
    line.get_by_role("button", name="登记付款").click()
    officer2.get_by_role("button", name="是的，登记付款").click()  # asked once more
    expect(flash_ok(officer2)).to_have_text(f"已登记向 {SHOP} 的付款（流水号 ICBC-20261121-001）。")
    expect(line).to_have_attribute("data-paid", "yes")
    expect(line).to_contain_text("流水号 ICBC-20261121-001")
    expect(officer2.locator("#settlement-status")).to_have_attribute("data-status", "paid")
    axe.check(officer2)

    # The public: the home page links this month's report, which shows both.
    public = open_as(PHONE)
    go(public, site, "/", "金豆社区志愿积分")
    public.get_by_role("link", name=f"最新基金报告（{month}）").click()
    expect(public).to_have_url(f"{site.url}/reports/{period}")
    axe.check(public)
    donations = public.locator("section[aria-labelledby='h-donations']")
    expect(donations).to_contain_text("共 1 笔捐款，合计 ¥500.00。")
    expect(donations.locator("tbody tr").first).to_contain_text(DONOR)
    payouts = public.locator("section[aria-labelledby='h-payouts']")
    expect(payouts).to_contain_text("本月付款 ¥6.00，另付返利 ¥0.60。")
    paid = payouts.locator("tbody tr")
    expect(paid).to_have_count(1)
    for shown in (SHOP, "¥6.00", "¥0.60", "ICBC-20261121-001"):
        expect(paid).to_contain_text(shown)
    fund = public.locator("section[aria-labelledby='h-fund']")
    expect(fund.locator("dl div", has_text="月底余额")).to_contain_text("¥493.40")  # 500 - 6.60
    go(public, site, "/reports", "基金报告", axe)
    expect(public.locator("#report-periods")).to_contain_text(
        re.compile(rf"{month}\s*（本月尚未结束）")
    )
    go(public, site, "/merchants", "合作商户", axe)
    expect(public.locator("main")).to_contain_text(SHOP)
    go(public, site, "/how", "项目说明", axe)

    # The auditor verifies the whole log: OK.
    auditor = open_as(DESKTOP)
    sign_in(auditor, site, "auditor")
    nav_to(auditor, "事件日志", "事件日志", axe)
    auditor.get_by_role("button", name="立即核验链").click()
    result = auditor.locator("#verify-result")
    expect(result).to_have_attribute("data-ok", "yes", timeout=60_000)
    expect(result).to_contain_text("通过")
    axe.check(auditor)

    # The admin sees every user.
    go(admin, site, "/staff/users", "用户", axe)
    users = admin.locator("#users tbody tr")
    expect(users).to_have_count(6)
    expect(admin.locator("#user-liwei")).to_contain_text("志愿者")
    expect(admin.locator("#user-officer2")).to_contain_text("基金专员")

    axe.assert_clean()


# --- English -------------------------------------------------------------------------------------


def test_the_pages_speak_english_when_asked(site, open_as, axe):
    page = open_as(PHONE)
    page.goto(f"{site.url}/login?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username").fill("liwei")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    axe.check(page)

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My beans")  # the cookie kept it
    expect(page.get_by_role("heading", name="Balance")).to_be_visible()
    mine = page.get_by_role("navigation", name="Your pages")
    for label in ("Payment code", "Scan", "Report an incident", "Give"):
        expect(mine.get_by_role("link", name=label, exact=True)).to_be_visible()

    mine.get_by_role("link", name="Give", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Give beans")
    page.get_by_role("radio", name="The gift pool").check()  # chosen, never a default
    page.get_by_label("Amount (beans)").fill("5")
    page.get_by_role("button", name="Give beans").click()
    expect(page.locator(".flash.error")).to_have_text("Not enough beans.")  # a balance of 0

    page.goto(f"{site.url}/staff/incidents")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("This page is not for your role.")

    go(page, site, "/reports", "Fund reports")
    go(page, site, "/how", "How it works")
    page.get_by_role("link", name="中文").click()  # and back
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1)).to_have_text("项目说明")
    axe.assert_clean()


# --- the keyboard -------------------------------------------------------------------------------


def test_an_incident_is_reported_with_the_keyboard_alone(site, open_as):
    page = open_as(DESKTOP)
    sign_in(page, site, "liwei")
    page.goto(f"{site.url}/me/report")

    def focused() -> str:
        return page.evaluate("document.activeElement.id || document.activeElement.className")

    def visibly_focused() -> bool:
        return page.evaluate("getComputedStyle(document.activeElement).outlineStyle !== 'none'")

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="跳到正文")).to_be_focused()
    page.keyboard.press("Enter")  # the skip link: on to the form, past the navigation
    expect(page.locator("main")).to_be_focused()

    page.keyboard.press("Tab")
    assert focused() == "category" and visibly_focused()
    page.keyboard.press("ArrowDown")  # the first kind: fire
    expect(page.get_by_label("事件类型")).to_have_value("fire")
    page.keyboard.press("Tab")
    assert focused() == "description" and visibly_focused()
    page.keyboard.type("楼下垃圾桶着火了")
    page.keyboard.press("Tab")
    assert focused() == "location" and visibly_focused()
    page.keyboard.type("5号楼门口")
    page.keyboard.press("Tab")
    assert focused() == "urgent" and visibly_focused()
    page.keyboard.press("Space")
    expect(page.get_by_label("紧急：现在就有人需要帮助")).to_be_checked()
    page.keyboard.press("Tab")
    assert focused() == "report-submit" and visibly_focused()
    page.keyboard.press("Enter")

    expect(page.locator(".flash.ok")).to_have_text("谢谢！您的上报已提交，协调员会尽快核实。")
    report = page.locator("#my-reports li").first
    expect(report).to_contain_text("楼下垃圾桶着火了")
    expect(report).to_contain_text("紧急")
    expect(report).to_contain_text("5号楼门口")
