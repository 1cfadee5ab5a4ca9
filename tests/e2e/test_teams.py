"""Teams and grids in a real browser (issue 18).

A coordinator (desktop) creates 安全小红帽 from the label members' records already carry,
names 李伟 its leader by his member number, creates 一网格 and names 王芳 its head, and
creates a running activity for the team. On a phone, the leader checks in 张奶奶's grandson
who has no phone by his member number, is refused when he tries his own number, confirms
the team's attendance (his own is not offered to him: someone else confirms it), and the
member is awarded. The grid head sees her grid's reports and not the other grid's. The
public site shows the team's figures once it opts in, naming nobody.
"""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from ledger.people import MemberRecord
from ledger.views import Actor
from tests.e2e.browser import DESKTOP, PASSWORD, PHONE, flash_ok, go, nav_to, sign_in

SETUP = Actor("setup-coordinator")


def test_a_leader_confirms_the_team_and_a_head_sees_the_grid(site, open_as, axe):
    ledger, auth = site.ledger, site.app.extensions["goldbean.auth"]
    leader_id = site.volunteer_id  # 李伟, signs in as "liwei"
    member = ledger.open_volunteer("赵小明").id  # no phone: checked in by number
    head = ledger.open_volunteer("王芳").id
    auth.create_user("wangfang", PASSWORD, "volunteer", account_id=head)
    for person in (leader_id, member, head):
        ledger.set_member_record(person, MemberRecord(teams=("安全小红帽",), grid="一网格"))
    other_grid_report = ledger.create_grid("二网格", SETUP)
    elsewhere = ledger.submit_incident(
        member, "dispute", "二网格的吵架", grid_id=other_grid_report.id
    )
    leader_number = ledger.get_account(leader_id).number
    member_number = ledger.get_account(member).number
    head_number = ledger.get_account(head).number

    # The coordinator creates the team and the grid and names the leader and the head.
    staff = open_as(DESKTOP)
    sign_in(staff, site, "coordinator")
    nav_to(staff, "队伍和网格", "队伍和网格", axe)
    staff.get_by_label("新队伍名称").fill("安全小红帽")
    staff.get_by_role("button", name="创建队伍").click()
    expect(flash_ok(staff)).to_have_text("已创建队伍 安全小红帽。")
    team_row = staff.locator("#team-list tr[data-name='安全小红帽']")
    expect(team_row.locator("td").first).to_have_text("3")  # the members who carry the label
    team_row.get_by_label("新队长的会员号").fill(leader_number)
    team_row.get_by_role("button", name="设为队长").click()
    expect(flash_ok(staff)).to_have_text("已设为队长。")
    expect(staff.locator("#team-list tr[data-name='安全小红帽']")).to_contain_text("李伟")
    staff.get_by_label("新网格名称").fill("一网格")
    staff.get_by_role("button", name="创建网格").click()
    expect(flash_ok(staff)).to_have_text("已创建网格 一网格。")
    grid_row = staff.locator("#grid-list tr[data-name='一网格']")
    grid_row.get_by_label("新网格长的会员号").fill(head_number)
    grid_row.get_by_role("button", name="设为网格长").click()
    expect(flash_ok(staff)).to_have_text("已设为网格长。")
    axe.check(staff)
    # a report made after the grid exists goes to the reporter's grid
    ours = ledger.submit_incident(member, "sanitation", "3栋门口垃圾堆积")
    assert ours.grid_id is not None

    # A running activity of the team, made on the activities page.
    nav_to(staff, "活动", "活动")
    now = ledger.now().astimezone(ledger.calendar.zone)
    form = staff.locator("#activity-form")
    form.get_by_label("名称").fill("周六巡逻")
    form.get_by_label("开始时间").fill((now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("结束时间").fill((now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("每次出勤金豆").fill("8")
    form.get_by_label("队伍", exact=True).select_option(label="安全小红帽")
    form.get_by_role("button", name="创建活动").click()
    expect(staff.locator("#activity-team")).to_have_text("安全小红帽")
    axe.check(staff)

    # The leader, on a phone: checks in the member without a phone, not himself.
    phone = open_as(PHONE)
    sign_in(phone, site, "liwei")
    phone.locator("#me-go-team").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("我的队伍")
    axe.check(phone)
    patrol = phone.locator("article.team-activity[data-title='周六巡逻']")
    patrol.get_by_label("为没有手机的人签到：会员号或卡号").fill(leader_number)
    patrol.get_by_role("button", name="签到").click()
    expect(phone.locator(".flash.error")).to_be_visible()
    patrol = phone.locator("article.team-activity[data-title='周六巡逻']")
    patrol.get_by_label("为没有手机的人签到：会员号或卡号").fill(member_number)
    patrol.get_by_role("button", name="签到").click()
    expect(flash_ok(phone)).to_have_text("赵小明 已签到。")

    # He checks in himself with the code, as everyone does; his own line is not offered.
    activity = ledger.get_activity(ledger.list_teams()[0].activity_ids[0])
    ledger.check_in(activity.id, leader_id, activity.checkin_code)
    phone.reload()
    patrol = phone.locator("article.team-activity[data-title='周六巡逻']")
    expect(patrol.locator(f"li[data-id='{leader_id}']")).to_contain_text("请其他队长")
    expect(patrol.locator(f"li[data-id='{leader_id}'] input")).to_have_count(0)
    axe.check(phone)
    patrol.get_by_role("button", name="确认出勤").click()
    expect(flash_ok(phone)).to_have_text("已确认出勤：1 名志愿者获得奖励。")
    assert ledger.get_balance(member) == 8 and ledger.get_balance(leader_id) == 0
    # A forged form naming himself is refused by the ledger all the same.
    token = phone.locator("input[name=csrf_token]").first.input_value()
    forged = phone.request.post(
        f"{site.url}/me/team/activities/{activity.id}/confirm",
        form={"csrf_token": token, "account_ids": leader_id},
    )
    assert forged.ok  # the page answers (a redirect to the team page with the refusal)
    assert ledger.get_balance(leader_id) == 0

    # The grid head sees her grid's reports only.
    head_phone = open_as(PHONE)
    sign_in(head_phone, site, "wangfang")
    head_phone.locator("#me-go-grid").click()
    expect(head_phone.get_by_role("heading", level=1)).to_have_text("我的网格")
    queue = head_phone.locator(".grid-queue")
    expect(queue).to_contain_text("3栋门口垃圾堆积")
    expect(queue).not_to_contain_text("二网格的吵架")
    assert elsewhere.grid_id == other_grid_report.id
    axe.check(head_phone)

    # The team opts in: the public site shows its figures and no one's name.
    go(staff, site, "/staff/teams", "队伍和网格")
    staff.locator("#team-list tr[data-name='安全小红帽']").get_by_role(
        "button", name="在公开网站展示"
    ).click()
    expect(flash_ok(staff)).to_have_text("队伍的数据已在公开网站展示。")
    public = open_as(PHONE)
    go(public, site, "/teams", "志愿者队伍", axe)
    row = public.locator("#public-teams tbody tr")
    expect(row).to_contain_text("安全小红帽")
    expect(public.locator("main")).not_to_contain_text("赵小明")
    axe.assert_clean()
