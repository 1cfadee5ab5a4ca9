"""A volunteer's everyday pages on a phone (issue 17, items 1 to 5), in a real browser.

- Giving: the receiver is chosen explicitly; a card number typed while the gift pool is
  chosen is an error beside the number (nothing given, every value kept); the
  confirmation names the elder only by the last digits typed; the elder reads the
  giver's message in their own history.
- The payment code page shows an 8-digit short code; a till redeems it (the API, as the
  till's software sends it) and the volunteer's page turns into the receipt.
- Paying a shop by its counter code asks to confirm the shop and the amount first.
- The public leaderboard, linked from the volunteer's page and the home page, names only
  those who opted in.
- The volunteer is greeted by name; a report's award and a handling award read apart.

Each page is checked with axe-core; the tests skip without a browser (fail under CI).
"""

from __future__ import annotations

import json
import urllib.request
import uuid

from playwright.sync_api import expect

from ledger.errors import NotFound
from ledger.ids import POOL_ID
from ledger.views import Actor
from tests.e2e.browser import PASSWORD, PHONE, VOLUNTEER, Site, flash_ok, go, sign_in

COORDINATOR = Actor("coordinator")
SHOP = "金沙便民超市"
ELDER = "王秀兰"


def award(site: Site, account_id: str, beans: int, category: str = "other") -> str:
    """The volunteer reports an incident that the coordinator verifies with ``beans``."""
    incident = site.ledger.submit_incident(account_id, category, "楼下路灯坏了")
    site.ledger.verify_incident(incident.id, COORDINATOR, award=beans)
    return incident.id


def user_for(site: Site, username: str, role: str, account_id: str) -> None:
    site.app.extensions["goldbean.auth"].create_user(
        username, PASSWORD, role, account_id=account_id
    )


def balance(site: Site, account_id: str) -> int:
    if account_id == "pool":  # opened with its first gift
        try:
            return site.ledger.get_balance(POOL_ID)
        except NotFound:
            return 0
    return site.ledger.get_balance(account_id)


# --- 1 and 5: giving, and the elder reads the message ---------------------------------------


def test_a_gift_goes_where_the_volunteer_chose_and_its_message_reaches_the_elder(
    site, open_as, axe
):
    award(site, site.volunteer_id, 10)
    elder = site.ledger.open_beneficiary(ELDER)
    card = site.ledger.issue_card(elder.id, COORDINATOR).card_code
    user_for(site, "wangxl", "beneficiary", elder.id)

    phone = open_as(PHONE)
    sign_in(phone, site, "liwei")
    go(phone, site, "/me/give", "赠送金豆", axe)
    to_elder = phone.get_by_role("radio", name="一位受助居民（按金豆卡上的号码或账户号）")
    to_pool = phone.get_by_role("radio", name="爱心池")
    expect(to_elder).not_to_be_checked()  # nothing is chosen for the volunteer
    expect(to_pool).not_to_be_checked()

    # The card number typed while the pool is chosen: refused beside the number.
    to_pool.check()
    phone.get_by_label("金豆卡号码").fill(card)
    phone.get_by_label("金额（金豆）").fill("3")
    phone.get_by_label("留言（选填）").fill("祝您健康")
    phone.get_by_role("button", name="赠送金豆").click()
    error = phone.locator("#beneficiary-error")
    expect(error).to_contain_text("您选择了爱心池，但也填写了号码")
    expect(phone.get_by_label("金豆卡号码")).to_have_attribute("aria-invalid", "true")
    expect(phone.get_by_label("金豆卡号码")).to_have_value(card)
    expect(phone.get_by_label("金额（金豆）")).to_have_value("3")
    expect(phone.get_by_label("留言（选填）")).to_have_value("祝您健康")
    expect(to_pool).to_be_checked()
    assert balance(site, site.volunteer_id) == 10 and balance(site, "pool") == 0
    axe.check(phone)

    # Choosing the elder sends the beans to the card typed.
    to_elder.check()
    phone.get_by_role("button", name="赠送金豆").click()
    expect(flash_ok(phone)).to_have_text(
        f"您已赠送 3 金豆给卡号尾号为 {card[-4:]} 的受助居民。您现在的余额是 7 金豆。"
    )
    expect(phone.locator("body")).not_to_contain_text(ELDER)  # whose card it is stays private
    assert balance(site, elder.id) == 3 and balance(site, "pool") == 0
    axe.check(phone)

    # The elder (or whoever helps her) reads the message in her history.
    elder_phone = open_as(PHONE)
    sign_in(elder_phone, site, "wangxl")
    go(elder_phone, site, "/me", "我的金豆", axe)
    expect(elder_phone.locator("#me-greeting")).to_have_text(f"{ELDER}，您好")
    gift = elder_phone.locator("#me-history tbody tr").first
    expect(gift).to_contain_text("志愿者赠送")
    expect(gift).to_contain_text("留言：“祝您健康”")
    expect(gift.locator("td.num")).to_have_text("+3")
    axe.assert_clean()


# --- 2: the payment code page follows its code ------------------------------------------------


def redeem_at_the_till(site: Site, token: str, code: str, amount: int) -> dict:
    """What the till's software sends when the cashier types the code."""
    request = urllib.request.Request(
        f"{site.url}/api/v1/redemptions",
        data=json.dumps({"code": code, "amount": amount}).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
        return json.loads(answer.read())


def test_the_code_page_turns_into_the_receipt_when_the_till_takes_the_short_code(
    site, open_as, axe
):
    award(site, site.volunteer_id, 20)
    shop = site.ledger.register_merchant(SHOP, "grocery")
    _terminal, token = site.app.extensions["goldbean.auth"].create_terminal(shop.id, "收银台")

    phone = open_as(PHONE)
    sign_in(phone, site, "liwei")
    go(phone, site, "/me/code", "我的付款码", axe)
    expect(phone.locator("#code-short-line")).to_contain_text("扫不了码？请收银员输入：")
    short = phone.locator("#code-short").inner_text()
    assert len(short.replace(" ", "")) == 8

    # The camera fails: the cashier types the 8 digits.
    receipt = redeem_at_the_till(site, token, short, 15)
    assert receipt["payer_id"] == site.volunteer_id and receipt["amount"] == 15

    expect(phone.locator("#code-receipt-text")).to_have_text(f"已在 {SHOP} 支付 15 金豆")
    expect(phone.locator("#payment-code")).to_be_hidden()  # the spent code is gone
    expect(phone.locator("#code-status")).to_contain_text(f"已在 {SHOP} 支付 15 金豆")
    axe.check(phone)
    phone.get_by_role("link", name="查看收据").click()
    expect(phone.locator("#receipt-shop")).to_have_text(SHOP)
    expect(phone.locator("#receipt-balance")).to_have_text("5 金豆")
    axe.check(phone)

    # Back on the code page, a fresh code.
    go(phone, site, "/me/code", "我的付款码")
    expect(phone.locator("#payment-code")).to_be_visible()
    expect(phone.locator("#code-short")).not_to_have_text(short)
    assert balance(site, site.volunteer_id) == 5
    axe.assert_clean()


# --- 3: paying a shop asks first --------------------------------------------------------------


def test_paying_a_shop_shows_the_shop_and_the_amount_before_any_bean_moves(site, open_as, axe):
    award(site, site.volunteer_id, 10)
    shop = site.ledger.register_merchant(SHOP, "grocery")

    phone = open_as(PHONE)
    sign_in(phone, site, "liwei")
    go(phone, site, f"/me/pay?merchant={shop.merchant_code}", "向商户付款", axe)
    phone.get_by_label("金额（金豆）").fill("4")
    phone.get_by_role("button", name="下一步：核对并确认").click()

    expect(phone.get_by_role("heading", level=1)).to_have_text("确认付款")
    expect(phone.locator("#confirm-shop")).to_have_text(SHOP)
    expect(phone.locator("#confirm-amount")).to_have_text("4 金豆")
    assert balance(site, site.volunteer_id) == 10 and balance(site, shop.id) == 0  # not yet
    axe.check(phone)

    phone.get_by_role("button", name="确认支付 4 金豆").click()
    expect(phone.locator("#receipt-shop")).to_have_text(SHOP)
    expect(phone.locator("#receipt-amount")).to_have_text("4 金豆")
    assert balance(site, site.volunteer_id) == 6 and balance(site, shop.id) == 4
    axe.check(phone)
    axe.assert_clean()


# --- 4: the leaderboard -----------------------------------------------------------------------


def test_the_leaderboard_names_only_those_who_opted_in(site, open_as, axe):
    award(site, site.volunteer_id, 10)
    shy = site.ledger.open_volunteer("赵敏")
    award(site, shy.id, 30)  # earned more, but did not opt in

    phone = open_as(PHONE)
    sign_in(phone, site, "liwei")
    go(phone, site, "/me", "我的金豆", axe)
    phone.get_by_label("在公开排行榜上显示我的名字").check()
    phone.get_by_role("button", name="保存选择").click()
    expect(flash_ok(phone)).to_be_visible()
    phone.get_by_role("link", name="查看排行榜").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("志愿者排行榜")
    rows = phone.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(VOLUNTEER)
    expect(rows.first.locator("td").last).to_have_text("10")
    expect(phone.locator("body")).not_to_contain_text("赵敏")
    axe.check(phone)

    # Anyone finds it from the home page.
    public = open_as(PHONE)
    go(public, site, "/", "金豆", axe)
    public.get_by_role("link", name="看看本月谁获得的金豆最多").click()
    expect(public.get_by_role("heading", level=1)).to_have_text("志愿者排行榜")
    expect(public.locator("#leaderboard")).to_contain_text(VOLUNTEER)
    axe.check(public)
    axe.assert_clean()


# --- 5: the greeting and the award kinds --------------------------------------------------------


def test_the_volunteer_is_greeted_by_name_and_reads_each_award_for_what_it_was(site, open_as, axe):
    award(site, site.volunteer_id, 10)  # her own report, verified
    neighbour = site.ledger.open_volunteer("赵敏")
    other = award(site, neighbour.id, 10)  # the neighbour's report, which she handles
    site.ledger.assign_handlers(other, COORDINATOR, [site.volunteer_id])
    site.ledger.resolve_incident(other, COORDINATOR, award_per_handler=5)

    phone = open_as(PHONE)
    sign_in(phone, site, "liwei")
    go(phone, site, "/me", "我的金豆", axe)
    expect(phone.locator("#me-greeting")).to_have_text(f"{VOLUNTEER}，您好")
    rows = phone.locator("#me-history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("协助处理奖励")
    expect(rows.nth(0).locator("td.num")).to_have_text("+5")
    expect(rows.nth(1)).to_contain_text("上报奖励")
    expect(rows.nth(1).locator("td.num")).to_have_text("+10")
    axe.assert_clean()
