"""A volunteer learns the outcome of a report in their inbox, in a real browser: the
volunteer reports from a phone, a coordinator rejects the report with a reason at a
desk, and the volunteer's page shows the message with the reason, counted as unread
until the volunteer marks it read. The volunteer's service record and the public honours
list are opened on the way; axe-core checks each page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.browser import DESKTOP, PHONE, VOLUNTEER, flash_ok, go, nav_to, sign_in

REPORT = "楼下有人大声放音乐"
REASON = "属于邻里噪音，请拨打物业电话"


def test_a_rejected_report_reaches_the_volunteers_inbox_with_its_reason(site, open_as, axe):
    phone = open_as(PHONE)
    sign_in(phone, site, "liwei", axe=axe)
    expect(phone.locator("#inbox-empty")).to_have_text("还没有消息。")
    expect(phone.locator("#recognition-stars")).to_contain_text("尚未评星")
    axe.check(phone)

    # The volunteer reports from the phone.
    phone.get_by_role("link", name="上报事件").first.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("上报事件")
    phone.get_by_label("事件类型").select_option("other")
    phone.get_by_label("发生了什么？").fill(REPORT)
    phone.get_by_role("button", name="提交上报").click()
    expect(flash_ok(phone)).to_have_text("谢谢！您的上报已提交，协调员会尽快核实。")

    # A coordinator rejects it with a reason.
    desk = open_as(DESKTOP)
    sign_in(desk, site, "coordinator")
    nav_to(desk, "事件", "事件队列", axe)
    desk.get_by_role("link", name=REPORT).click()
    expect(desk.get_by_role("heading", level=1)).to_contain_text("事件：其他")
    desk.locator("#reject-form").get_by_label("理由").fill(REASON)
    desk.locator("#reject-form").get_by_role("button", name="驳回").click()
    expect(flash_ok(desk)).to_have_text("已驳回。")
    expect(desk.locator("#incident-status")).to_have_text("已驳回")
    axe.check(desk)
    nav_to(desk, "季度评比", "季度评比光荣榜", axe)

    # The volunteer sees the message, unread, with the reason, and marks it read.
    nav_to(phone, "我的金豆", "我的金豆")
    expect(phone.locator("#inbox-unread")).to_have_text("1 条未读")
    message = phone.locator("#inbox-list li").first
    expect(message).to_contain_text(f"您报告的事件（其他）未通过核实。原因：{REASON}")
    expect(message).to_contain_text("新")
    axe.check(phone)
    message.get_by_role("button", name="标为已读").click()
    expect(phone.locator("#inbox-unread")).to_have_count(0)
    expect(phone.locator("#inbox-list li").first).to_contain_text(REASON)
    expect(phone.get_by_role("button", name="标为已读")).to_have_count(0)
    axe.check(phone)

    # The honours list is public; a volunteer who did not choose to be named is not.
    public = open_as(PHONE)
    go(public, site, "/honours", "季度评比光荣榜", axe)
    expect(public.locator("body")).not_to_contain_text(VOLUNTEER)
    axe.assert_clean()
