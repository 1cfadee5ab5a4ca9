"""The programme's rules on the record, in a real browser (issue 18): an administrator
proposes that beneficiary cards work at eateries too, and names the community, asked once
more; the page says another administrator must approve; a second administrator approves
it, asked once more; the rules page, the public /how page on a phone and the till follow
the new rules. The coordinator sees who received the month's allotment. Every page is
checked by axe-core."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.browser import DESKTOP, PASSWORD, PHONE, flash_ok, go, sign_in


def test_two_admins_change_where_cards_work_and_everyone_sees_it(site, open_as, axe):
    auth = site.app.extensions["goldbean.auth"]
    auth.create_user("admin2", PASSWORD, "admin")
    elder = site.ledger.open_beneficiary("王奶奶").id
    site.ledger.run_scheduled_allotments()

    first = open_as(DESKTOP)
    sign_in(first, site, "admin")
    go(first, site, "/staff/rules", "项目规则", axe)
    card_shops = first.locator("#rules-card-shops")
    expect(card_shops).not_to_contain_text("餐馆")
    first.get_by_label("餐馆").check()
    first.get_by_label("社区名称").fill("金沙社区")
    first.get_by_role("button", name="提出变更").click()
    expect(first.get_by_role("heading", level=1)).to_have_text("提议这项规则变更吗？")
    expect(first.locator("#confirm-consequence")).to_contain_text("餐馆")
    axe.check(first)
    first.get_by_role("button", name="是的，提出变更").click()
    expect(flash_ok(first)).to_have_text("变更已提出，须由另一位管理员批准。")
    expect(first.locator("#rule-changes")).to_contain_text("等待批准")
    expect(first.locator("#rule-changes")).to_contain_text(
        "您提出了这项变更，需由另一位管理员批准。"
    )
    expect(first.locator("#rule-changes").get_by_role("button", name="批准")).to_have_count(0)
    expect(card_shops).not_to_contain_text("餐馆")  # nothing changes until approved
    axe.check(first)

    second = open_as(DESKTOP)
    sign_in(second, site, "admin2")
    go(second, site, "/staff/rules", "项目规则")
    second.locator("#rule-changes").get_by_role("button", name="批准").click()
    expect(second.get_by_role("heading", level=1)).to_have_text("批准这项规则变更吗？")
    axe.check(second)
    second.get_by_role("button", name="是的，批准").click()
    expect(flash_ok(second)).to_have_text("变更已批准，将在所示时间生效。")
    expect(second.locator("#rules-card-shops")).to_contain_text("餐馆")
    expect(second.locator("#rule-changes")).to_contain_text("已批准")
    axe.check(second)
    assert "restaurant" in site.ledger.rules.beneficiary_categories

    phone = open_as(PHONE)
    go(phone, site, "/how", "项目说明", axe)
    expect(phone.locator("#how-card-shops")).to_contain_text("餐馆")
    expect(phone.locator("#how-community")).to_contain_text("金沙社区")

    coordinator = open_as(DESKTOP)
    sign_in(coordinator, site, "coordinator")
    go(coordinator, site, "/staff/allotments", "每月补贴", axe)
    expect(coordinator.locator("#recipients-count")).to_have_text("1 位受助居民已领到。")
    expect(coordinator.locator("#recipients")).to_contain_text("王奶奶")
    assert site.ledger.get_balance(elder) == 100
    axe.assert_clean()
