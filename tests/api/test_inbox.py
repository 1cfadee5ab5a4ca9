"""The inbox over the API (``/api/v1/me/notifications``) and on the pages (``/me`` for a
volunteer, ``/shop`` for a shop owner), and recognition over the API: a reporter reads
the outcome of a report and marks it read; nobody reads or marks another's notices."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from tests.api.helpers import problem_code

A = "/api/v1"


@pytest.fixture
def li(community):
    return community.volunteer("Li Wei")


def test_a_reporter_reads_the_reason_of_a_rejection_and_marks_it_read(community, sign_in, li):
    incident = community.ledger.submit_incident(li, "other", "a loud dog")
    client = sign_in("volunteer", account_id=li)
    assert client.get(f"{A}/me/notifications").get_json() == {
        "items": [],
        "unread": 0,
        "next_cursor": None,
    }
    community.ledger.reject_incident(incident.id, community.coordinator, "Not an incident")
    inbox = client.get(f"{A}/me/notifications").get_json()
    assert inbox["unread"] == 1
    (notice,) = inbox["items"]
    assert notice["kind"] == "report_rejected"
    assert notice["subject_id"] == incident.id
    assert notice["data"]["reason"] == "Not an incident"
    assert notice["read"] is False
    marked = client.post(f"{A}/me/notifications/{notice['id']}/read")
    assert marked.status_code == 200
    assert marked.get_json() == {"id": notice["id"], "read": True, "unread": 0}
    again = client.post(f"{A}/me/notifications/{notice['id']}/read")
    assert again.get_json() == marked.get_json(), "marking again is harmless"
    assert client.get(f"{A}/me/notifications?unread=true").get_json()["items"] == []


def test_nobody_reads_or_marks_anothers_notices(community, sign_in, li):
    community.earn(li, 3)
    owner = sign_in("volunteer", account_id=li)
    (notice,) = owner.get(f"{A}/me/notifications").get_json()["items"]
    other = sign_in("volunteer", account_id=community.volunteer("Wang Fang"))
    assert other.get(f"{A}/me/notifications").get_json()["items"] == []
    refused = other.post(f"{A}/me/notifications/{notice['id']}/read")
    assert (refused.status_code, problem_code(refused)) == (404, "not_found")
    junk = other.post(f"{A}/me/notifications/not-an-id/read")
    assert (junk.status_code, problem_code(junk)) == (404, "not_found")
    assert owner.get(f"{A}/me/notifications").get_json()["unread"] == 1


def test_pages_of_notices_and_marking_all_read(community, sign_in, li):
    for _ in range(5):
        community.earn(li, 1)
    client = sign_in("volunteer", account_id=li)
    first = client.get(f"{A}/me/notifications?limit=3").get_json()
    assert (len(first["items"]), first["unread"]) == (3, 5)
    rest = client.get(f"{A}/me/notifications?limit=3&cursor={first['next_cursor']}").get_json()
    assert (len(rest["items"]), rest["next_cursor"]) == (2, None)
    ids = [n["id"] for n in first["items"] + rest["items"]]
    assert len(set(ids)) == 5
    assert client.post(f"{A}/me/notifications/read").get_json() == {"marked": 5, "unread": 0}


def test_a_shop_owner_reads_that_a_line_was_paid_and_a_till_has_no_inbox(community, sign_in, li):
    shop = community.merchant("Corner Grocery")
    community.earn(li, 30)
    community.spend(li, shop, 10)
    community.donate(100_000)
    community.move_to_local(2026, 4, 2)
    settlement = community.settle()
    owner = sign_in("merchant", merchant_id=shop)
    (notice,) = owner.get(f"{A}/me/notifications").get_json()["items"]
    assert notice["kind"] == "line_paid"
    assert notice["data"]["payment_ref"] == f"BANK-{settlement.period}-1"
    assert notice["data"]["cash_fen"] == 1000


def test_staff_have_no_inbox(sign_in):
    answer = sign_in("coordinator").get(f"{A}/me/notifications")
    assert (answer.status_code, problem_code(answer)) == (403, "forbidden")


# --- recognition over the API ---------------------------------------------------------------


def test_a_volunteer_reads_their_recognition_and_staff_read_anyones(community, sign_in, li):
    community.earn(li, 7)
    start = community.now + timedelta(minutes=1)
    activity = community.ledger.create_activity(
        "Park clean-up", start, start + timedelta(hours=2), 5, community.coordinator
    )
    community.advance(minutes=2)
    community.ledger.check_in(activity.id, li, activity.checkin_code)
    community.ledger.confirm_attendance(activity.id, community.coordinator)
    mine = sign_in("volunteer", account_id=li).get(f"{A}/accounts/{li}/recognition").get_json()
    assert (mine["incident_awards"], mine["activity_awards"], mine["net"]) == (7, 5, 12)
    assert (mine["hours"], mine["stars"], mine["next_star_hours"]) == (2, 0, 100)
    staff = sign_in("coordinator").get(f"{A}/accounts/{li}/recognition")
    assert staff.get_json() == mine


def test_the_public_honours_list_names_only_who_chose_to_be_named(community, anonymous, li):
    wang = community.volunteer("Wang Fang")
    community.ledger.set_leaderboard_opt_in(li, True)
    community.earn(li, 20)
    community.earn(wang, 40)
    honours = anonymous.get(f"{A}/public/honours?quarter=2026-Q1").get_json()
    assert [(r["rank"], r["display_name"], r["beans_earned"]) for r in honours["by_beans"]] == [
        (1, None, 40),
        (2, "Li Wei", 20),
    ]
    assert "Wang Fang" not in str(honours) and wang not in str(honours)
    assert (honours["volunteers"], honours["beans"]) == (2, 60)
    assert "2026-Q1" in honours["quarters"]


# --- the pages ------------------------------------------------------------------------------


def page_client(app, auth, username: str, role: str, **ids):
    from tests.api.test_web_pages import PASSWORD, log_in

    auth.create_user(username, PASSWORD, role, **ids)
    client = app.test_client()
    assert log_in(client, username).status_code == 303
    return client


def text_of(answer) -> str:
    return unescape(answer.get_data(as_text=True))


def test_the_volunteer_reads_a_rejection_on_their_page_and_marks_it_read(app, community, li):
    from tests.api.test_web_pages import csrf_token

    client = page_client(app, app.extensions["goldbean.auth"], "liwei", "volunteer", account_id=li)
    assert "还没有消息" in text_of(client.get("/me"))
    incident = community.ledger.submit_incident(li, "other", "a loud dog")
    community.ledger.reject_incident(incident.id, community.coordinator, "不属于社区事务")
    page = text_of(client.get("/me"))
    assert "1 条未读" in page
    assert "您报告的事件（其他）未通过核实。原因：不属于社区事务" in page
    (notice_id,) = re.findall(r'action="/me/notifications/([0-9a-f-]{36})/read"', page)
    answer = client.post(
        f"/me/notifications/{notice_id}/read", data={"csrf_token": csrf_token(page)}
    )
    assert answer.status_code == 303
    page = text_of(client.get("/me"))
    assert "条未读" not in page and "标为已读" not in page
    assert "未通过核实" in page, "a read message stays in the list"


def test_marking_all_read_on_the_page_and_anothers_notice_is_not_found(app, community, li):
    from tests.api.test_web_pages import csrf_token

    auth = app.extensions["goldbean.auth"]
    community.earn(li, 2)
    community.earn(li, 3)
    client = page_client(app, auth, "liwei", "volunteer", account_id=li)
    page = text_of(client.get("/me"))
    assert "2 条未读" in page
    ids = re.findall(r'action="/me/notifications/([0-9a-f-]{36})/read"', page)
    other = page_client(app, auth, "wangfang", "volunteer", account_id=community.volunteer("王芳"))
    token = csrf_token(text_of(other.get("/me")))
    assert (
        other.post(f"/me/notifications/{ids[0]}/read", data={"csrf_token": token}).status_code
        == 404
    )
    answer = client.post("/me/notifications/read", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 303
    page = text_of(client.get("/me"))
    assert "所有消息已标为已读" in page and "条未读" not in page


def test_the_shop_owner_reads_that_the_fund_paid(app, community, li):
    auth = app.extensions["goldbean.auth"]
    shop = community.merchant("街角杂货店")
    community.earn(li, 30)
    community.spend(li, shop, 10)
    community.donate(100_000)
    community.move_to_local(2026, 4, 2)
    settlement = community.settle()
    client = page_client(app, auth, "shopowner", "merchant", merchant_id=shop)
    page = text_of(client.get("/shop"))
    assert "1 条未读" in page
    assert f"基金已付给贵店2026年3月的结算款 ¥11.00（付款凭证 BANK-{settlement.period}-1）" in page


def test_the_volunteers_service_record_on_their_page_and_the_coordinators(app, community, li):
    auth = app.extensions["goldbean.auth"]
    community.earn(li, 7)
    start = community.now + timedelta(minutes=1)
    activity = community.ledger.create_activity(
        "Park clean-up", start, start + timedelta(hours=3), 5, community.coordinator
    )
    community.advance(minutes=2)
    community.ledger.check_in(activity.id, li, activity.checkin_code)
    community.ledger.confirm_attendance(activity.id, community.coordinator)
    mine = text_of(page_client(app, auth, "liwei", "volunteer", account_id=li).get("/me"))
    assert "志愿服务记录" in mine and "尚未评星" in mine
    assert re.search(r'id="recognition-hours">3 小时<', mine)
    assert re.search(r'id="recognition-attendances">1<', mine)
    assert "服务满 100 小时可升一星" in mine
    coordinator = page_client(app, auth, "coord", "coordinator")
    theirs = text_of(coordinator.get(f"/staff/members/{li}"))
    assert "志愿服务记录" in theirs and re.search(r'id="recognition-hours">3 小时<', theirs)
    assert re.search(r'id="recognition-net"><strong>12<', theirs)


def test_the_honours_pages(app, community, anonymous, li):
    auth = app.extensions["goldbean.auth"]
    wang = community.volunteer("王芳")
    community.ledger.set_leaderboard_opt_in(li, True)
    community.earn(li, 20)
    community.earn(wang, 40)
    public = text_of(app.test_client().get("/honours"))
    assert "季度评比光荣榜（2026年第1季度）" in public
    assert "Li Wei" in public and "王芳" not in public and "一位志愿者" in public
    assert "本季度共有 2 位志愿者获得 60 金豆" in public
    staff = text_of(page_client(app, auth, "coord", "coordinator").get("/staff/honours"))
    assert "王芳" in staff and "Li Wei" in staff
    assert "满 100 小时" in staff
