"""The coordinator's everyday work in a real browser (issue 17, items 6 and 7).

A community office with a few hundred incidents over two months: the queue opens on
what needs action, today's urgent report first; the filters (status, kind, urgency,
days, words) narrow it and survive paging; the "duplicate of" choice searches recent
incidents by words and place; handlers are ticked in a checklist with a filter box
(and without JavaScript too); the activity form and the corrections form keep what was
typed after a refusal and say it beside the field; and staff pages on a 390 px phone
show each table row as a labelled card whose buttons can be reached, with nothing
scrolling sideways.

The history is recorded through the ledger before the browser opens, with the ledger's
clock set back for each old report; today's reports are recorded on the real clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from ledger.clock import FakeClock
from ledger.views import Actor
from tests.e2e.browser import (
    DESKTOP,
    PASSWORD,
    PHONE,
    VOLUNTEER,
    Site,
    flash_ok,
    go,
    sign_in,
)

SETUP = Actor("setup-coordinator")
KINDS = ("fire", "public_security", "dispute", "sanitation", "resident_need", "other")
KIND_WORDS = {"fire": "火灾隐患", "resident_need": "居民求助", "other": "其他"}
OLD = 300  # incidents over the last two months
TODAY_URGENT = "7号楼电梯里有老人被困，按铃没有人应"
TODAY_CALM = "菜市场门口的路灯又坏了，晚上很黑"
LAMP = "菜市场门口路灯不亮"
VOLUNTEER_NAMES = [f"{family}{given}" for family in "王张刘陈杨" for given in "芳伟敏静丽强磊军"]


@dataclass
class Office:
    """What was recorded: the incidents by id with their status and local day."""

    status: dict[str, str] = field(default_factory=dict)
    day: dict[str, str] = field(default_factory=dict)
    lamp: str = ""
    urgent_today: str = ""
    calm_today: str = ""

    def ids(self, *, statuses: tuple[str, ...] | None = None, day: str | None = None) -> set:
        return {
            i
            for i, s in self.status.items()
            if (statuses is None or s in statuses) and (day is None or self.day[i] == day)
        }


@contextmanager
def clock_at(site: Site, when: datetime) -> Iterator[FakeClock]:
    real = site.ledger.clock
    site.ledger.clock = FakeClock(when)
    try:
        yield site.ledger.clock
    finally:
        site.ledger.clock = real


def record_history(site: Site) -> Office:
    ledger, office = site.ledger, Office()
    reporters = [site.volunteer_id, *(ledger.open_volunteer(n).id for n in ("周敏", "吴强"))]
    start = ledger.now() - timedelta(days=60)
    for n in range(OLD):
        at = start + timedelta(hours=4.7 * n)
        with clock_at(site, at) as clock:
            made = ledger.submit_incident(
                reporters[n % 3],
                KINDS[n % len(KINDS)],
                f"第{n}号报告：楼道情况需要查看",
                location=f"{n % 12 + 1}栋",
                urgent=n % 10 == 0,
            )
            clock.set(at + timedelta(minutes=30))
            status = "submitted"
            if n % 5 == 1:
                status = ledger.verify_incident(made.id, SETUP, award=0).status
            elif n % 5 == 2:
                status = ledger.reject_incident(made.id, SETUP, "信息不足").status
            elif n % 5 == 3:
                ledger.verify_incident(made.id, SETUP, award=0)
                status = ledger.resolve_incident(made.id, SETUP, no_award=True).status
        office.status[made.id] = status
        office.day[made.id] = ledger.day_of(made.at)
    with clock_at(site, ledger.now() - timedelta(days=10)):
        lamp = ledger.submit_incident(reporters[1], "other", LAMP, location="5栋菜市场")
    office.lamp, office.status[lamp.id], office.day[lamp.id] = lamp.id, "submitted", "-"
    calm = ledger.submit_incident(reporters[2], "other", TODAY_CALM, location="5栋菜市场门口")
    urgent = ledger.submit_incident(
        site.volunteer_id, "resident_need", TODAY_URGENT, location="7栋", urgent=True
    )
    for made in (calm, urgent):
        office.status[made.id], office.day[made.id] = "submitted", ledger.day_of(made.at)
    office.calm_today, office.urgent_today = calm.id, urgent.id
    return office


@pytest.fixture
def office(site) -> Office:
    return record_history(site)


def rows(page: Page) -> list[dict[str, str]]:
    return page.locator("#incident-queue tr.incident").evaluate_all(
        "rows => rows.map(r => ({id: r.dataset.id, status: r.dataset.status,"
        " urgent: r.classList.contains('is-urgent'), text: r.textContent}))"
    )


def coordinator_page(open_as, site: Site, device=DESKTOP) -> Page:
    page = open_as(device)
    sign_in(page, site, "coordinator")
    return page


# --- the queue ----------------------------------------------------------------------------------


def test_the_queue_opens_on_today_s_urgent_report_and_filters_survive_paging(
    site, office, open_as, axe
):
    page = coordinator_page(open_as, site)
    go(page, site, "/staff/incidents", "事件队列", axe)
    shown = rows(page)
    assert shown[0]["id"] == office.urgent_today  # today's urgent report, first
    assert TODAY_URGENT in shown[0]["text"] and "紧急" in shown[0]["text"]
    actionable = office.ids(statuses=("submitted", "verified"))
    expect(page.locator("#incident-queue caption")).to_contain_text(f"{len(actionable)} 件事件")
    assert len(shown) == 50 and {r["status"] for r in shown} <= {"submitted", "verified"}
    # new reports first (urgent ones before the calm ones), newest first among them
    waiting = [r for r in shown if r["status"] == "submitted"]
    assert shown[: len(waiting)] == waiting
    urgent = [r["urgent"] for r in waiting]
    assert urgent == sorted(urgent, reverse=True)
    assert office.calm_today == next(r["id"] for r in waiting if not r["urgent"])

    # the last page holds the verified ones; nothing resolved or rejected anywhere
    seen, number = [r["id"] for r in shown], 1
    while page.locator("#incidents-next").count():
        page.locator("#incidents-next").click()
        number += 1
        expect(page.locator("#incident-queue caption")).to_contain_text(f"第 {number} 页")
        seen += [r["id"] for r in rows(page)]
    assert set(seen) == actionable and len(seen) == len(actionable)
    assert rows(page)[-1]["status"] == "verified"

    # the status filter, kept on the next page
    go(page, site, "/staff/incidents", "事件队列")
    page.get_by_label("状态").select_option("resolved")
    page.get_by_role("button", name="筛选").click()
    resolved = office.ids(statuses=("resolved",))
    expect(page.locator("#incident-queue caption")).to_contain_text(f"{len(resolved)} 件事件")
    first = rows(page)
    assert len(first) == 50 and {r["status"] for r in first} == {"resolved"}
    axe.check(page)
    page.locator("#incidents-next").click()
    expect(page).to_have_url(re.compile(r"status=resolved.*page=2"))
    expect(page.get_by_label("状态")).to_have_value("resolved")
    rest = rows(page)
    assert {r["id"] for r in first + rest} == resolved

    # kind and urgency together
    go(page, site, "/staff/incidents?status=all", "事件队列")
    page.get_by_label("类别").select_option("fire")
    page.get_by_label("紧急程度").select_option("1")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"kind=fire&urgent=1"))
    found = rows(page)
    assert found and all(r["urgent"] and "火灾隐患" in r["text"] for r in found)

    # a day, with every status
    some_day = office.day[next(iter(office.ids(statuses=("rejected",))))]
    go(page, site, "/staff/incidents", "事件队列")
    page.get_by_label("状态").select_option("all")
    page.get_by_label("报告日期从").fill(some_day)
    page.get_by_label("报告日期到").fill(some_day)
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(f"from={some_day}&to={some_day}"))
    assert {r["id"] for r in rows(page)} == office.ids(day=some_day)
    expect(page.get_by_label("报告日期从")).to_have_value(some_day)

    # words of the description or the place
    go(page, site, "/staff/incidents", "事件队列")
    page.get_by_label("描述或地点中的词").fill("菜市场")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"q="))
    assert {r["id"] for r in rows(page)} == {office.lamp, office.calm_today}
    page.get_by_role("link", name="清除筛选").click()
    expect(page).to_have_url(f"{site.url}/staff/incidents")
    assert rows(page)[0]["id"] == office.urgent_today
    axe.assert_clean()


def test_the_duplicate_choice_searches_recent_incidents_by_words_and_place(
    site, office, open_as, axe
):
    page = coordinator_page(open_as, site)
    go(page, site, f"/staff/incidents/{office.calm_today}", "事件：其他", axe)
    choices = page.locator("#duplicate-choices li")
    assert choices.count() <= 20  # recent ones of the same kind, not every incident ever
    section = page.locator("#duplicate")
    section.get_by_label("关键词").fill("路灯")
    section.get_by_label("地点").fill("5栋")
    section.get_by_role("button", name="搜索").click()
    expect(choices).to_have_count(1)
    only = choices.first
    expect(only).to_contain_text("其他")  # the kind
    expect(only).to_contain_text("5栋菜市场")  # the place
    expect(only).to_contain_text(LAMP)  # the description
    expect(only).to_contain_text("待核实")
    expect(section.get_by_label("关键词")).to_have_value("路灯")
    axe.check(page)
    only.get_by_role("radio").check()
    page.get_by_role("button", name="标记为重复").click()
    expect(flash_ok(page)).to_have_text("已标记为重复事件。")
    expect(page.locator("#incident-status")).to_have_attribute("data-status", "duplicate")
    original = page.get_by_role("link", name="原事件")
    expect(original).to_have_attribute("href", f"/staff/incidents/{office.lamp}")

    go(page, site, f"/staff/incidents/{office.urgent_today}", "事件：居民求助")
    page.locator("#duplicate").get_by_label("关键词").fill("没有这样的事")
    page.locator("#duplicate").get_by_role("button", name="搜索").click()
    expect(page.locator("#duplicate-none")).to_have_text("没有找到事件。请换个词试试。")
    axe.check(page)
    axe.assert_clean()


def test_handlers_are_ticked_in_a_checklist_that_filters_by_name(site, office, open_as, axe):
    for name in VOLUNTEER_NAMES:
        site.ledger.open_volunteer(name)
    site.ledger.verify_incident(office.urgent_today, SETUP, award=0)
    here = f"/staff/incidents/{office.urgent_today}"
    page = coordinator_page(open_as, site)
    go(page, site, here, "事件：居民求助", axe)
    checklist = page.locator("#handlers-list li")
    everyone = checklist.count()
    assert everyone >= len(VOLUNTEER_NAMES)
    page.get_by_label("查找志愿者").fill("王")
    expect(page.locator("#handlers-list li:visible")).to_have_count(8)
    page.get_by_label("王芳").check()
    page.get_by_label("王强").check()
    page.get_by_label("查找志愿者").press("Enter")  # does not send the form
    expect(page.locator(".flash")).to_have_count(0)
    page.get_by_label("查找志愿者").fill("刘军")
    expect(page.locator("#handlers-list li:visible")).to_have_count(3)  # and the ticked two
    page.get_by_label("刘军").check()
    page.get_by_label("查找志愿者").fill("没有这个人")
    expect(page.locator(".checklist-filter [role=status]")).to_have_text("没有叫这个名字的志愿者。")
    axe.check(page)
    page.get_by_role("button", name="保存处理人").click()
    expect(flash_ok(page)).to_have_text("已指定 3 名处理人。")
    named = page.locator("#incident-handlers li").all_text_contents()
    assert sorted(named) == sorted(["王芳", "王强", "刘军"])
    expect(page.get_by_label("王芳")).to_be_checked()

    # Without JavaScript: no filter box, every name listed, ticking still works.
    bare = open_as({**DESKTOP, "java_script_enabled": False})
    sign_in(bare, site, "coordinator")
    go(bare, site, here, "事件：居民求助")
    expect(bare.locator(".checklist-filter")).to_be_hidden()
    expect(bare.locator("#handlers-list li:visible")).to_have_count(everyone)
    bare.get_by_label("刘军").uncheck()
    bare.get_by_label(VOLUNTEER).check()
    bare.get_by_role("button", name="保存处理人").click()
    expect(flash_ok(bare)).to_have_text("已指定 3 名处理人。")
    names = bare.locator("#incident-handlers li").all_text_contents()
    assert sorted(names) == sorted(["王芳", "王强", VOLUNTEER])
    axe.assert_clean()


# --- forms keep what was typed ------------------------------------------------------------------


def test_the_activity_form_keeps_what_was_typed_and_says_the_error_beside_the_field(
    site, open_as, axe
):
    page = coordinator_page(open_as, site)
    go(page, site, "/staff/activities", "活动", axe)
    tomorrow = (site.today() + timedelta(days=1)).isoformat()
    form = page.locator("#activity-form")
    form.get_by_label("名称").fill("社区清洁日")
    form.get_by_label("开始时间").fill(f"{tomorrow}T09:00")
    form.get_by_label("结束时间").fill(f"{tomorrow}T08:00")
    form.get_by_label("每次出勤金豆").fill("8")
    form.get_by_role("button", name="创建活动").click()

    expect(page.locator(".flash.error")).to_have_text("没有保存。请检查标出的栏目。")
    ends = form.get_by_label("结束时间")
    error = page.locator("#activity-form-ends_at-error")
    expect(error).to_have_text("活动的结束时间必须晚于开始时间。")
    expect(ends).to_have_attribute("aria-invalid", "true")
    expect(ends).to_have_attribute("aria-describedby", re.compile(r"activity-form-ends_at-error"))
    # the error is right under its field, not far away at the top
    assert 0 <= error.bounding_box()["y"] - ends.bounding_box()["y"] < 120
    expect(form.get_by_label("名称")).to_have_value("社区清洁日")
    expect(form.get_by_label("开始时间")).to_have_value(f"{tomorrow}T09:00")
    expect(ends).to_have_value(f"{tomorrow}T08:00")
    expect(form.get_by_label("每次出勤金豆")).to_have_value("8")
    expect(form.get_by_label("名称")).not_to_have_attribute("aria-invalid", "true")
    axe.check(page)

    ends.fill(f"{tomorrow}T12:00")
    form.get_by_role("button", name="创建活动").click()
    expect(flash_ok(page)).to_have_text("活动已创建。")
    expect(page.get_by_role("heading", level=1)).to_have_text("社区清洁日")
    page.goto(f"{site.url}/staff/activities")  # the kept values are forgotten once used
    expect(page.locator("#activity-form").get_by_label("名称")).to_have_value("")
    axe.assert_clean()


def test_a_correction_picks_the_entry_from_the_member_s_history(site, open_as, axe):
    ledger = site.ledger
    incident = ledger.submit_incident(site.volunteer_id, "fire", "厨房冒烟")
    ledger.verify_incident(incident.id, SETUP, award=10)
    page = coordinator_page(open_as, site)
    go(page, site, f"/staff/members/{site.volunteer_id}", VOLUNTEER, axe)
    page.get_by_role("link", name="更正误发的金豆").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("更正")
    form = page.locator("#correction-form")
    what = form.get_by_label("哪一笔有误")
    options = what.locator("option").all_text_contents()
    credit = next(o for o in options if "10 金豆" in o)
    assert "火灾隐患" in credit  # the entry in words, not a record id
    what.select_option(label=credit)
    form.get_by_label("收回金豆数").fill("11")
    form.get_by_label("理由").fill("重复奖励，已与上报人核对")
    form.get_by_role("button", name="记录更正").click()
    expect(page.locator(".flash.error")).to_be_visible()
    expect(form.get_by_label("理由")).to_have_value("重复奖励，已与上报人核对")
    expect(form.get_by_label("收回金豆数")).to_have_value("11")
    expect(what.locator("option:checked")).to_have_text(credit)
    assert ledger.get_balance(site.volunteer_id) == 10
    axe.check(page)
    form.get_by_label("收回金豆数").fill("4")
    form.get_by_role("button", name="记录更正").click()
    expect(flash_ok(page)).to_contain_text("从李伟收回 4 金豆")
    assert ledger.get_balance(site.volunteer_id) == 6
    axe.assert_clean()


# --- staff pages on a phone ---------------------------------------------------------------------


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} scrolls sideways on a phone ({width} px)"


def test_staff_pages_fit_a_phone_with_labelled_rows_and_reachable_buttons(
    site, office, open_as, axe
):
    auditor = open_as(PHONE)
    sign_in(auditor, site, "auditor")
    for path in ("/staff/audit", "/staff/fund"):
        go(auditor, site, path, "", axe)
        fits(auditor)

    shop = site.ledger.register_merchant("金沙便民超市", "grocery")
    auth = site.app.extensions["goldbean.auth"]
    auth.create_user("shopowner", PASSWORD, "merchant", merchant_id=shop.id)
    owner = open_as(PHONE)
    owner.goto(f"{site.url}/login")
    owner.get_by_label("用户名").fill("shopowner")
    owner.get_by_label("密码").fill(PASSWORD)
    owner.get_by_role("button", name="登录", exact=True).click()
    expect(owner).to_have_url(re.compile(r"/pos"))  # a shop owner lands at the till
    go(owner, site, "/shop", "金沙便民超市", axe)
    fits(owner)

    admin = open_as(PHONE)
    sign_in(admin, site, "admin")
    go(admin, site, "/staff/users", "用户", axe)
    fits(admin)
    row = admin.locator("tr", has=admin.get_by_role("rowheader", name="auditor"))
    role = row.locator("td").first
    expect(role).to_have_attribute("data-label", "角色")
    label = role.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert "角色" in label
    assert role.bounding_box()["width"] > 250  # a card as wide as the phone, not a column
    button = row.get_by_role("button", name="停用")
    button.scroll_into_view_if_needed()
    expect(button).to_be_visible()
    assert button.bounding_box()["x"] + button.bounding_box()["width"] <= 390
    button.click()
    expect(flash_ok(admin)).to_contain_text("auditor")
    fits(admin)
    for path, heading in (("/staff/merchants", "商户"), ("/staff/rules", "项目规则")):
        go(admin, site, path, heading, axe)
        fits(admin)

    coordinator = coordinator_page(open_as, site, PHONE)
    go(coordinator, site, "/staff/incidents", "事件队列", axe)
    fits(coordinator)
    first = coordinator.locator("#incident-queue tr.incident").first
    expect(first.locator("td").nth(1)).to_have_attribute("data-label", "类别")
    link = first.get_by_role("link", name=TODAY_URGENT)
    expect(link).to_be_visible()
    link.click()
    expect(coordinator.get_by_role("heading", level=1)).to_contain_text("事件：居民求助")
    axe.check(coordinator)
    fits(coordinator)
    verify = coordinator.get_by_role("button", name="核实并奖励")
    verify.scroll_into_view_if_needed()
    expect(verify).to_be_visible()
    for path, heading in (
        ("/staff/activities", "活动"),
        ("/staff/members", "成员"),
        (f"/staff/members/{site.volunteer_id}", VOLUNTEER),
        ("/staff/allotments", "每月补贴"),
        ("/staff/pool", "爱心池"),
        ("/staff/corrections", "更正"),
    ):
        go(coordinator, site, path, heading, axe)
        fits(coordinator)

    officer = open_as(PHONE)
    sign_in(officer, site, "officer1")
    for path in ("/staff/fund", "/staff/donations", "/staff/settlements"):
        go(officer, site, path, "", axe)
        fits(officer)
    axe.assert_clean()
