"""The till, as a cashier and an administrator use it (issue 17, items 9 and 10).

The admin creates a terminal and is shown an 8-digit pairing code and its QR code instead
of having to copy a 43-character token; a till on a phone types the code (or scans the QR
code, which opens the till page with the code) and is signed in. At the till, a refusal
for a limit says which limit and, for an elder's card, how much is left today; a card
sale's receipt says what is left on the card; a refusal for want of beans says no balance.

Without a browser that starts here the tests skip, saying why; under ``CI=true`` they fail
instead (tests/e2e/browser.py).
"""

from __future__ import annotations

import re

from api.auth import BadToken
from ledger.views import Actor
from merchant_pos.qr import decode_image
from tests.e2e.browser import DESKTOP, PHONE, flash_ok, nav_to, sign_in

try:
    from playwright.sync_api import Page, expect
except ImportError:  # reported by the browser fixture
    pass

SHOP = "金沙便民超市"
ELDER = "赵奶奶"
DAILY = 50  # a card's daily spending limit (ledger/rules.py)
MOST = 500  # the most one sale may take (ledger/rules.py)


def create_terminal(admin: Page, site, axe) -> tuple[str, str]:
    """The admin registers the shop and creates its till: (shop id, pairing code)."""
    sign_in(admin, site, "admin")
    nav_to(admin, "商户", "商户", axe)
    admin.get_by_label("商户名称").fill(SHOP)
    admin.get_by_label("类别").select_option("grocery")
    admin.get_by_role("button", name="登记商户").click()
    expect(flash_ok(admin)).to_have_text(f"已登记商户 {SHOP}。")
    shop_id = admin.url.rsplit("/", 1)[1]
    admin.get_by_label("名称").fill("收银台一号")
    admin.get_by_role("button", name="创建收银台").click()
    expect(admin.get_by_role("heading", name="配对收银设备")).to_be_visible()
    shown = admin.locator("#pairing-code")
    expect(shown).to_have_text(re.compile(r"^\d{4} \d{4}$"))
    expect(admin.locator("#pairing-expires")).to_contain_text("10 分钟")
    expect(admin.locator("#pairing-qr svg")).to_be_visible()
    expect(admin.get_by_label("收银台令牌")).to_be_hidden()  # the token is folded away
    axe.check(admin)
    return shop_id, shown.inner_text().replace(" ", "")


def pair_till(till: Page, site, code: str) -> None:
    till.goto(f"{site.url}/pos")
    till.get_by_label("配对码（8位数字）").fill(code)
    till.get_by_role("button", name="配对", exact=True).click()


def key_in(till: Page, beans: int) -> None:
    till.get_by_role("button", name="清除", exact=True).click()
    for digit in str(beans):
        till.locator(".keypad").get_by_role("button", name=digit, exact=True).click()
    expect(till.locator("#amount")).to_have_text(str(beans))


def sell(till: Page, code: str, beans: int) -> None:
    till.get_by_label("付款码或金豆卡号").fill(code)
    key_in(till, beans)
    till.get_by_role("button", name="收款", exact=True).click()


def test_a_till_paired_with_the_admins_code_takes_a_card_and_says_what_is_left(site, open_as, axe):
    admin = open_as(DESKTOP)
    shop_id, code = create_terminal(admin, site, axe)

    till = open_as(PHONE)
    pair_till(till, site, code)
    expect(till.locator("#merchant-name")).to_have_text(SHOP)
    expect(till.locator("#message")).to_contain_text(f"已登录：{SHOP}")
    axe.check(till)
    token = till.evaluate("localStorage.getItem('goldbean.pos.token')")
    auth = site.app.extensions["goldbean.auth"]
    assert auth.resolve(token).merchant_id == shop_id
    old = admin.get_by_label("收银台令牌").input_value()  # the token the admin was shown
    try:
        auth.resolve(old)
        raise AssertionError("the admin's copy of the token still works after pairing")
    except BadToken:
        pass

    # An elder with a card and this month's allowance buys at the till.
    elder = site.ledger.open_beneficiary(ELDER).id
    site.ledger.grant_allotments(site.period(), Actor("coordinator"), account_ids=[elder])
    held = site.ledger.get_balance(elder)
    card = site.ledger.issue_card(elder, Actor("coordinator")).card_code
    sell(till, card, 20)
    expect(till.locator("#receipt")).to_be_visible()
    expect(till.locator("#receipt-kind")).to_have_text("金豆卡")
    expect(till.locator("#receipt-card-balance-label")).to_have_text("卡内余额")
    expect(till.locator("#receipt-card-balance")).to_have_text(f"{held - 20} 金豆")
    axe.check(till)
    till.get_by_role("button", name="下一笔").click()

    # Too much for the card today: the till says which limit and what is left today.
    sell(till, card, 31)
    message = till.locator("#message")
    expect(message).to_have_attribute("data-code", "limit_exceeded")
    expect(message).to_contain_text(f"每天 {DAILY} 金豆")
    expect(message).to_contain_text(f"今天还可以用 {DAILY - 20} 金豆")
    expect(message).not_to_contain_text(str(held - 20))  # the balance is not told
    till.get_by_role("button", name="English").click()
    expect(message).to_contain_text(f"the card can spend {DAILY - 20} more beans today")
    till.get_by_role("button", name="中文").click()

    # Too much for one sale: the most one sale may take.
    sell(till, card, MOST + 1)
    expect(message).to_contain_text(f"每笔最多 {MOST} 金豆")
    expect(message).not_to_contain_text("今天还可以用")

    # A payment code's receipt has no balance line: the volunteer has their own phone.
    volunteer = site.volunteer_id
    helped = site.ledger.submit_incident(volunteer, "other", "帮邻居搬米")
    site.ledger.verify_incident(helped.id, Actor("coordinator"), award=5)
    paycode = site.ledger.issue_payment_code(volunteer).code
    sell(till, paycode, 3)
    expect(till.locator("#receipt-kind")).to_have_text("金豆付款码")
    expect(till.locator("#receipt-card-balance")).to_be_hidden()
    till.get_by_role("button", name="下一笔").click()

    # The code is used: another phone cannot pair with it.
    other = open_as(PHONE)
    pair_till(other, site, code)
    expect(other.locator("#message")).to_have_attribute("data-code", "pair_invalid")
    expect(other.locator("#message")).to_contain_text("配对码不对")
    expect(other.locator("#till")).to_be_hidden()
    axe.check(other)
    axe.assert_clean()


def test_scanning_the_pairing_qr_code_opens_the_till_signed_in(site, open_as, axe):
    admin = open_as(DESKTOP)
    create_terminal(admin, site, axe)
    picture = admin.locator("#pairing-qr svg").screenshot()
    (address,) = decode_image(picture)
    assert re.fullmatch(rf"{re.escape(site.url)}/pos#pair=\d{{8}}", address), address

    till = open_as(PHONE)  # the phone's camera app opens the address it reads
    till.goto(address)
    expect(till.locator("#merchant-name")).to_have_text(SHOP)
    expect(till).to_have_url(f"{site.url}/pos")  # the code left the address bar
    assert "pair=" not in till.evaluate("window.location.href")
    axe.check(till)
    axe.assert_clean()
