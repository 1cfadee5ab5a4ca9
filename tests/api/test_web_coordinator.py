"""The coordinator's pages (issue 6 "Coordinator"): the incident queue and its actions,
activities and their check-in code, members and cards, allotments, the gift pool and
corrections; who may open them; Chinese by default, English with ``?lang=en``."""

from __future__ import annotations

import html as html_module
import re

import pytest

from api.web.support import LEDGER_MESSAGES
from ledger.views import Actor
from tests.api.test_web_pages import PASSWORD, csrf_token, log_in

FORM = re.compile(r'<form\b[^>]*\bid="(?P<id>[^"]+)"[^>]*>(?P<body>.*?)</form>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def refusal(app, code: str) -> str:
    """A ledger refusal as a Chinese reader sees it (the default language)."""
    with app.test_request_context("/"):
        return str(LEDGER_MESSAGES[code])


def page_text(answer) -> str:
    return html_module.unescape(answer.get_data(as_text=True))


def hidden_fields(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields (csrf_token, form_key) of the form with this id on a page."""
    for found in FORM.finditer(html):
        if found.group("id") == form_id:
            return dict(HIDDEN.findall(found.group("body")))
    raise AssertionError(f"the page has no form #{form_id}")


def send(client, page: str, form_id: str, action: str, **fields):
    """Open ``page``, fill the form ``form_id`` and post it to ``action``; return the
    answer and the hidden fields used (to send the same form again)."""
    hidden = hidden_fields(client.get(page).get_data(as_text=True), form_id)
    return client.post(action, data={**hidden, **fields}), hidden


@pytest.fixture
def auth(app):
    return app.extensions["goldbean.auth"]


@pytest.fixture
def ledger(app):
    return app.extensions["goldbean.ledger"]


@pytest.fixture
def coordinator(app, auth):
    """A test client signed in as a coordinator (who holds no bean account)."""
    auth.create_user("coord", PASSWORD, "coordinator")
    client = app.test_client()
    assert log_in(client, "coord").status_code == 303
    return client


def signed_in(app, auth, username: str, role: str, **ids):
    auth.create_user(username, PASSWORD, role, **ids)
    client = app.test_client()
    assert log_in(client, username).status_code == 303
    return client


# --- who may open the pages ---------------------------------------------------------------

COORDINATOR_PAGES = (
    "/staff/incidents",
    "/staff/activities",
    "/staff/members",
    "/staff/allotments",
    "/staff/pool",
    "/staff/corrections",
)


@pytest.mark.parametrize("path", COORDINATOR_PAGES)
def test_a_visitor_is_sent_to_sign_in_first(app, path):
    answer = app.test_client().get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/login?next={path}"


def test_a_volunteer_gets_403_on_every_coordinator_page(app, auth, community):
    volunteer = signed_in(app, auth, "liwei", "volunteer", account_id=community.volunteer("李伟"))
    for path in COORDINATOR_PAGES:
        answer = volunteer.get(path)
        assert answer.status_code == 403, path
    token = csrf_token(volunteer.get("/me").get_data(as_text=True))
    refused = volunteer.post("/staff/pool", data={"csrf_token": token, "to": "x", "amount": "1"})
    assert refused.status_code == 403


def test_an_auditor_reads_the_queue_but_cannot_act(app, auth, community, ledger):
    li = community.volunteer("李伟")
    incident = ledger.submit_incident(li, "fire", "厨房冒烟")
    auditor = signed_in(app, auth, "audit", "auditor")
    assert auditor.get("/staff/incidents").status_code == 200
    detail = auditor.get(f"/staff/incidents/{incident.id}")
    assert detail.status_code == 200 and 'id="verify-form"' not in detail.get_data(as_text=True)
    token = csrf_token(auditor.get("/staff/incidents").get_data(as_text=True))
    answer = auditor.post(f"/staff/incidents/{incident.id}/verify", data={"csrf_token": token})
    assert answer.status_code == 403
    assert ledger.get_incident(incident.id).status == "submitted"
    assert auditor.get("/staff/pool").status_code == 403


# --- the incident queue -------------------------------------------------------------------


def test_the_queue_lists_urgent_incidents_first_in_chinese(coordinator, community, ledger):
    li = community.volunteer("李伟")
    ledger.submit_incident(li, "sanitation", "楼道堆满垃圾", location="3栋")
    community.advance(minutes=5)
    ledger.submit_incident(li, "fire", "厨房冒烟", location="5栋", urgent=True)
    page = page_text(coordinator.get("/staff/incidents"))
    assert "<h1>事件队列</h1>" in page
    assert page.index("厨房冒烟") < page.index("楼道堆满垃圾")
    assert "火灾隐患" in page and "环境卫生" in page and "待核实" in page
    assert '<strong class="urgent">紧急</strong>' in page  # said in words, not by colour
    assert "李伟" in page and "5栋" in page

    english = page_text(coordinator.get("/staff/incidents?lang=en"))
    assert "<h1>Incident queue</h1>" in english and "Fire" in english
    assert '<strong class="urgent">Urgent</strong>' in english

    verified = page_text(coordinator.get("/staff/incidents?status=verified"))
    assert "厨房冒烟" not in verified


SETUP = Actor("setup-coordinator")


def test_a_long_queue_comes_in_pages_of_fifty(coordinator, community, ledger):
    """53 waiting incidents, the last one urgent: the first page shows it first and the 49
    newest others and counts all 53; the next page, kept to the status filter, shows the
    three oldest."""
    li = community.volunteer("李伟")
    for n in range(53):
        ledger.submit_incident(li, "other", f"第{n}号报告", urgent=n == 52)
    ledger.verify_incident(ledger.submit_incident(li, "other", "已核实的报告").id, SETUP)
    first = page_text(coordinator.get("/staff/incidents?status=submitted"))
    assert "53 件事件" in first and first.count('class="incident') == 50
    assert first.index("第52号报告") < first.index("第51号报告") < first.index("第3号报告")
    assert "第2号报告" not in first
    assert 'id="incidents-first"' not in first
    found = re.search(r'href="([^"]+)" id="incidents-next"', first)
    assert found is not None
    rest = page_text(coordinator.get(html_module.unescape(found[1])))
    assert rest.count('class="incident') == 3 and "已核实的报告" not in rest
    assert all(f"第{n}号报告" in rest for n in (0, 1, 2))
    assert 'id="incidents-first"' in rest and 'id="incidents-next"' not in rest
    nonsense = page_text(coordinator.get("/staff/incidents?page=abc"))  # the first page
    assert nonsense.count('class="incident') == 50


def test_verifying_awards_the_reporter_once_however_often_the_form_is_sent(
    coordinator, community, ledger
):
    li = community.volunteer("李伟")
    incident = ledger.submit_incident(li, "fire", "厨房冒烟")
    here = f"/staff/incidents/{incident.id}"
    answer, hidden = send(coordinator, here, "verify-form", f"{here}/verify", award="10")
    assert answer.status_code == 303 and answer.headers["Location"] == here
    assert ledger.get_balance(li) == 10
    page = page_text(coordinator.get(here))
    assert "已核实" in page and "上报人获得 10 金豆" in page

    again = coordinator.post(f"{here}/verify", data={**hidden, "award": "10"})
    assert again.status_code == 303
    assert ledger.get_balance(li) == 10
    assert "此表单已提交过" in page_text(coordinator.get(here))


def test_verifying_without_an_award_gives_the_category_s_award(coordinator, community, ledger):
    li = community.volunteer("李伟")
    incident = ledger.submit_incident(li, "dispute", "邻里争吵")
    here = f"/staff/incidents/{incident.id}"
    assert 'value="3"' in coordinator.get(here).get_data(as_text=True)  # the default shown
    send(coordinator, here, "verify-form", f"{here}/verify", award="")
    assert ledger.get_balance(li) == 3


def test_a_coordinator_cannot_verify_their_own_report(app, auth, community, ledger):
    own = community.volunteer("王芳")
    coordinator = signed_in(app, auth, "wangfang", "coordinator", account_id=own)
    incident = ledger.submit_incident(own, "fire", "厨房冒烟")
    here = f"/staff/incidents/{incident.id}"
    answer, _ = send(coordinator, here, "verify-form", f"{here}/verify", award="10")
    assert answer.status_code == 303
    page = page_text(coordinator.get(here))
    assert refusal(app, "self_verification") in page
    assert ledger.get_incident(incident.id).status == "submitted"
    assert ledger.get_balance(own) == 0

    send(coordinator, here + "?lang=en", "verify-form", f"{here}/verify", award="10")
    english = page_text(coordinator.get(here))
    assert "You cannot give beans to your own account" in english
    assert ledger.get_balance(own) == 0


def test_an_award_over_the_maximum_is_refused(coordinator, community, ledger):
    li = community.volunteer("李伟")
    incident = ledger.submit_incident(li, "fire", "厨房冒烟")
    here = f"/staff/incidents/{incident.id}"
    send(coordinator, here + "?lang=en", "verify-form", f"{here}/verify", award="101")
    assert "Enter a whole number from 0 to 100." in page_text(coordinator.get(here))
    assert ledger.get_incident(incident.id).status == "submitted"
    assert ledger.get_balance(li) == 0


def test_rejecting_and_marking_a_duplicate(coordinator, community, ledger):
    li = community.volunteer("李伟")
    first = ledger.submit_incident(li, "fire", "厨房冒烟")
    second = ledger.submit_incident(li, "fire", "厨房又冒烟")
    third = ledger.submit_incident(li, "other", "不清楚")
    here = f"/staff/incidents/{second.id}"
    html = coordinator.get(here).get_data(as_text=True)
    assert f'name="of" value="{first.id}"' in html and f'value="{second.id}"' not in html
    send(coordinator, here, "duplicate-form", f"{here}/duplicate", of=first.id)
    assert ledger.get_incident(second.id).duplicate_of == first.id

    there = f"/staff/incidents/{third.id}"
    refused, _ = send(coordinator, there, "reject-form", f"{there}/reject", reason="")
    assert ledger.get_incident(third.id).status == "submitted"
    assert "请填写理由" in page_text(coordinator.get(there))
    send(coordinator, there, "reject-form", f"{there}/reject", reason="信息不足")
    rejected = ledger.get_incident(third.id)
    assert (rejected.status, rejected.reason) == ("rejected", "信息不足")
    assert "信息不足" in page_text(coordinator.get(there))
    assert ledger.get_balance(li) == 0


def test_naming_handlers_and_resolving_awards_each_handler(coordinator, community, ledger):
    li, wang, zhao = (community.volunteer(n) for n in ("李伟", "王芳", "赵强"))
    incident = ledger.submit_incident(li, "resident_need", "老人需要帮助")
    here = f"/staff/incidents/{incident.id}"
    send(coordinator, here, "verify-form", f"{here}/verify", award="2")
    html = coordinator.get(here).get_data(as_text=True)
    assert 'id="handlers-account_ids"' in html and 'id="resolve-form"' in html
    hidden = hidden_fields(html, "handlers-form")
    answer = coordinator.post(f"{here}/handlers", data={**hidden, "account_ids": [wang, zhao]})
    assert answer.status_code == 303
    assert ledger.get_incident(incident.id).handler_ids == [wang, zhao]
    send(coordinator, here, "resolve-form", f"{here}/resolve", award_per_handler="")
    assert ledger.get_incident(incident.id).status == "resolved"
    assert (ledger.get_balance(wang), ledger.get_balance(zhao), ledger.get_balance(li)) == (5, 5, 2)


def test_an_unknown_incident_is_not_found(coordinator):
    assert (
        coordinator.get("/staff/incidents/00000000-0000-0000-0000-000000000000").status_code == 404
    )


# --- activities ---------------------------------------------------------------------------


def test_creating_an_activity_showing_its_code_and_confirming_attendance(
    coordinator, community, ledger
):
    answer, hidden = send(
        coordinator,
        "/staff/activities",
        "activity-form",
        "/staff/activities",
        title="社区清洁日",
        starts_at="2026-03-10T09:00",
        ends_at="2026-03-10T12:00",
        beans="8",
    )
    assert answer.status_code == 303
    where = answer.headers["Location"]
    activity_id = where.rsplit("/", 1)[1]
    activity = ledger.get_activity(activity_id)
    assert (activity.title, activity.beans) == ("社区清洁日", 8)
    again = coordinator.post(
        "/staff/activities",
        data={
            **hidden,
            "title": "社区清洁日",
            "starts_at": "2026-03-10T09:00",
            "ends_at": "2026-03-10T12:00",
            "beans": "8",
        },
    )
    assert again.headers["Location"] == where  # the same form creates one activity

    listing = page_text(coordinator.get("/staff/activities"))
    assert "社区清洁日" in listing and "进行中" in listing

    checkin = coordinator.get(f"{where}/checkin")
    assert checkin.status_code == 200
    html = checkin.get_data(as_text=True)
    assert "<svg" in html and f"<title>{activity.checkin_code}</title>" in html
    assert 'id="checkin-close"' in html and 'class="role"' not in html  # no navigation

    li, wang = community.volunteer("李伟"), community.volunteer("王芳")
    ledger.check_in(activity_id, li, activity.checkin_code)
    ledger.check_in(activity_id, wang, activity.checkin_code)
    page = coordinator.get(where).get_data(as_text=True)
    assert 'id="show-checkin-code"' in page and "李伟" in page and "王芳" in page
    hidden = hidden_fields(page, "attendance-form")
    confirmed = coordinator.post(f"{where}/confirm", data={**hidden, "account_ids": [li]})
    assert confirmed.status_code == 303
    assert (ledger.get_balance(li), ledger.get_balance(wang)) == (8, 0)
    assert "已确认出勤：1 名志愿者获得奖励。" in page_text(coordinator.get(where))
    coordinator.post(f"{where}/confirm", data={**hidden, "account_ids": [li]})
    assert ledger.get_balance(li) == 8  # awarded once


def test_an_activity_that_ends_before_it_starts_is_refused(coordinator, ledger):
    answer, _ = send(
        coordinator,
        "/staff/activities",
        "activity-form",
        "/staff/activities",
        title="x",
        starts_at="2026-03-10T12:00",
        ends_at="2026-03-10T09:00",
        beans="8",
    )
    assert answer.headers["Location"] == "/staff/activities"
    assert "结束时间必须晚于开始时间" in page_text(coordinator.get("/staff/activities"))


# --- members and cards ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"display_name": "张\u200b奶奶"}, "名称中不能含有控制字符或不可见字符"),
        ({"display_name": "\u202e奶奶张"}, "名称中不能含有控制字符或不可见字符"),
        (
            {"display_name": "张奶奶", "username": "zhang.nn", "password": "12345678"},
            "太容易被猜到",
        ),
    ],
)
def test_a_member_with_an_invisible_name_or_a_weak_password_is_not_registered(
    coordinator, ledger, fields, refusal
):
    form = {"kind": "beneficiary", "username": "", "password": "", **fields}
    answer, _ = send(coordinator, "/staff/members", "register-form", "/staff/members", **form)
    assert answer.status_code == 303
    assert refusal in page_text(coordinator.get(answer.headers["Location"]))
    assert ledger.index.ids_of("beneficiary") == []


def test_a_member_s_name_is_stored_composed_with_plain_spaces(coordinator, ledger):
    form = {
        "kind": "volunteer",
        "display_name": " Zoe\u0308\u3000Li ",
        "username": "",
        "password": "",
    }
    answer, _ = send(coordinator, "/staff/members", "register-form", "/staff/members", **form)
    account_id = answer.headers["Location"].rsplit("/", 1)[1]
    assert ledger.get_account(account_id).display_name == "Zo\u00eb Li"


def test_registering_a_beneficiary_issuing_a_card_and_printing_it(coordinator, ledger, community):
    answer, _ = send(
        coordinator,
        "/staff/members",
        "register-form",
        "/staff/members",
        kind="beneficiary",
        display_name="张奶奶",
        username="",
        password="",
    )
    assert answer.status_code == 303
    member_page = answer.headers["Location"]
    account_id = member_page.rsplit("/", 1)[1]
    account = ledger.get_account(account_id)
    assert (account.kind, account.display_name) == ("beneficiary", "张奶奶")
    assert "张奶奶" in page_text(coordinator.get("/staff/members?q=张"))

    page = page_text(coordinator.get(member_page))
    assert "尚未发卡" in page and 'id="print-card"' not in page
    issued, hidden = send(coordinator, member_page, "card-form", f"{member_page}/card", pin="1234")
    assert issued.status_code == 303
    card_code = ledger.get_card(account_id).card_code
    # Reproduction (issue 15, 6): the new card's code was flashed into the session
    # cookie, which is signed but not encrypted.
    cookie = " ".join(issued.headers.getlist("Set-Cookie"))
    with coordinator.session_transaction() as session:
        assert card_code not in str(dict(session)) and card_code not in cookie
    page = page_text(coordinator.get(member_page))
    assert "新卡已发放" in page and 'id="print-card"' in page
    assert card_code not in page.replace(" ", "")
    beneficiary = ledger.beneficiary_for_card
    assert str(beneficiary(card_code).id) == account_id
    coordinator.post(f"{member_page}/card", data={**hidden, "pin": "1234"})
    assert str(beneficiary(card_code).id) == account_id  # the same form issues one card

    pdf = coordinator.get(f"{member_page}/card.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    sheet = coordinator.get("/staff/members/cards.pdf")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"

    unlocked, _ = send(coordinator, member_page, "unlock-form", f"{member_page}/unlock")
    assert unlocked.status_code == 303
    assert "密码锁定已解除" in page_text(coordinator.get(member_page))


def test_a_card_pdf_of_a_beneficiary_without_a_card_is_not_found(coordinator, community):
    grandma = community.beneficiary("张奶奶")
    assert coordinator.get(f"/staff/members/{grandma}/card.pdf").status_code == 404


def test_registering_a_volunteer_with_a_sign_in(app, coordinator, auth, ledger):
    answer, hidden = send(
        coordinator,
        "/staff/members",
        "register-form",
        "/staff/members",
        kind="volunteer",
        display_name="李伟",
        username="liwei",
        password="a long enough password",
    )
    account_id = answer.headers["Location"].rsplit("/", 1)[1]
    user = auth.get_user("liwei")
    assert (user.role, user.account_id) == ("volunteer", account_id)
    fresh = app.test_client()
    assert log_in(fresh, "liwei", "a long enough password").headers["Location"] == "/me"

    again = coordinator.post(
        "/staff/members",
        data={
            **hidden,
            "kind": "volunteer",
            "display_name": "李伟",
            "username": "liwei",
            "password": "a long enough password",
        },
    )
    assert again.headers["Location"] == answer.headers["Location"]  # registered once

    taken, _ = send(
        coordinator,
        "/staff/members",
        "register-form",
        "/staff/members",
        kind="volunteer",
        display_name="另一个李伟",
        username="liwei",
        password="another long password",
    )
    assert taken.headers["Location"] == "/staff/members"
    assert "该用户名已被使用" in page_text(coordinator.get("/staff/members"))
    assert "另一个李伟" not in page_text(coordinator.get("/staff/members"))


# --- allotments, the pool, corrections ------------------------------------------------------


def test_granting_a_month_s_allotments(coordinator, community, ledger):
    zhang, wang = community.beneficiary("张奶奶"), community.beneficiary("王爷爷")
    page = coordinator.get("/staff/allotments").get_data(as_text=True)
    assert 'value="2026-03"' in page and 'value="100"' in page
    answer, hidden = send(
        coordinator,
        "/staff/allotments",
        "allotment-form",
        "/staff/allotments",
        period="2026-03",
        amount="100",
    )
    assert answer.status_code == 200
    result = page_text(answer)
    assert "2 位受助居民已发放" in result and "0 位本月已发放过" in result
    assert (ledger.get_balance(zhang), ledger.get_balance(wang)) == (100, 100)

    again = coordinator.post("/staff/allotments", data={**hidden, "period": "2026-03"})
    assert "0 位受助居民已发放" in page_text(again) and "2 位本月已发放过" in page_text(again)
    assert ledger.get_balance(zhang) == 100

    later, _ = send(
        coordinator, "/staff/allotments", "allotment-form", "/staff/allotments", period="2026-04"
    )
    assert later.status_code == 422 and ledger.get_balance(zhang) == 100


def test_allocating_from_the_gift_pool(app, coordinator, community, ledger):
    li, grandma = community.volunteer("李伟"), community.beneficiary("张奶奶")
    community.earn(li, 30)
    community.give(li, "pool", 20)
    page = page_text(coordinator.get("/staff/pool"))
    assert "20 金豆" in page
    answer, hidden = send(
        coordinator, "/staff/pool", "pool-form", "/staff/pool", to=grandma, amount="15"
    )
    assert answer.status_code == 303
    assert (ledger.get_pool_balance(), ledger.get_balance(grandma)) == (5, 15)
    assert "已从爱心池向张奶奶拨付 15 金豆。" in page_text(coordinator.get("/staff/pool"))
    coordinator.post("/staff/pool", data={**hidden, "to": grandma, "amount": "15"})
    assert (ledger.get_pool_balance(), ledger.get_balance(grandma)) == (5, 15)

    send(coordinator, "/staff/pool", "pool-form", "/staff/pool", to=grandma, amount="6")
    assert refusal(app, "insufficient_balance") in page_text(coordinator.get("/staff/pool"))
    assert ledger.get_pool_balance() == 5


def test_a_correction_takes_beans_back_and_says_what_was_recorded(
    app, coordinator, community, ledger
):
    li = community.volunteer("李伟")
    (award,) = community.earn(li, 10)
    answer, hidden = send(
        coordinator,
        f"/staff/corrections?account_id={li}",
        "correction-form",
        "/staff/corrections",
        account_id=li,
        corrects=award,
        amount="4",
        reason="重复奖励\r\n已核对",
    )
    assert answer.status_code == 303
    assert ledger.get_balance(li) == 6
    page = page_text(coordinator.get("/staff/corrections"))
    assert "已记录更正：从李伟收回 4 金豆" in page and "重复奖励" in page
    coordinator.post(
        "/staff/corrections",
        data={
            **hidden,
            "account_id": li,
            "corrects": award,
            "amount": "4",
            "reason": "重复奖励\r\n已核对",
        },
    )
    assert ledger.get_balance(li) == 6  # the same form records once

    community.give(li, community.beneficiary("张奶奶"), 3)  # 6 of the award are left, 3 held
    send(
        coordinator,
        f"/staff/corrections?account_id={li}",
        "correction-form",
        "/staff/corrections",
        account_id=li,
        corrects=award,
        amount="5",
        reason="太多",
    )
    assert refusal(app, "insufficient_balance") in page_text(coordinator.get("/staff/corrections"))
    assert ledger.get_balance(li) == 3


def test_the_pages_speak_english_when_asked(coordinator, community):
    community.beneficiary("张奶奶")
    for path, heading in (
        ("/staff/activities", "Activities"),
        ("/staff/members", "Members"),
        ("/staff/allotments", "Monthly allotments"),
        ("/staff/pool", "Gift pool"),
        ("/staff/corrections", "Corrections"),
    ):
        assert f"<h1>{heading}</h1>" in page_text(coordinator.get(f"{path}?lang=en"))
    for path, heading in (
        ("/staff/activities", "活动"),
        ("/staff/members", "成员"),
        ("/staff/allotments", "每月补贴"),
        ("/staff/pool", "爱心池"),
        ("/staff/corrections", "更正"),
    ):
        assert f"<h1>{heading}</h1>" in page_text(coordinator.get(f"{path}?lang=zh_CN"))


def test_erasing_a_member_takes_an_admin_s_request_and_a_second_person(
    app, auth, coordinator, ledger, community
):
    """The admin asks on the member's page; the same admin cannot approve; a coordinator
    does, and the page then names nobody while the balance stays (issue 15)."""
    zhao = community.beneficiary("赵秀英")
    community.card(zhao, pin="4821")
    balance = community.balance(zhao)
    page = f"/staff/members/{zhao}"
    admin = signed_in(app, auth, "admin-1", "admin")
    asked, _ = send(admin, page, "erase-form", f"{page}/erase")
    assert asked.status_code == 303
    shown = page_text(admin.get(page))
    assert 'id="erase-state"' in shown and 'id="erase-form"' not in shown
    # a second person approves, once asked again (erasing cannot be undone)
    asking, hidden = send(coordinator, page, "erase-form", f"{page}/erase")
    assert asking.status_code == 200 and 'id="confirm-yes"' in page_text(asking)
    assert ledger.personal.get(zhao) != {}  # nothing erased yet
    again = coordinator.post(f"{page}/erase", data={**hidden, "confirmed": "yes"})
    assert again.status_code == 303
    assert ledger.personal.get(zhao) == {} and ledger.get_balance(zhao) == balance
    after = page_text(coordinator.get(page))
    assert "赵秀英" not in after and "（个人信息已删除）" in after
    assert 'id="erase-form"' not in after


def test_the_queue_s_filters_take_odd_values_without_failing(coordinator, community, ledger):
    """Days out of range, pages past the end, wildcards and long words: the queue answers,
    ignoring what makes no sense, and a % or _ in the words is a plain character."""
    li = community.volunteer("李伟")
    ledger.submit_incident(li, "fire", "厨房冒烟 100%", location="5栋")
    ledger.submit_incident(li, "fire", "厨房冒烟 1000", location="5栋")
    odd = (
        "from=0001-01-01&to=9999-12-31",
        "from=2026-13-01&to=abc",
        "page=0",
        "page=99999999999999999999",
        "status=%00&kind=fire%27&urgent=2",
        "q=" + "x" * 5000,
    )
    for query in odd:
        answer = coordinator.get("/staff/incidents?" + query)
        assert answer.status_code == 200, query
    assert "1 件事件" in page_text(coordinator.get("/staff/incidents?q=0%25"))
    assert "2 件事件" in page_text(
        coordinator.get("/staff/incidents?q=%E5%8E%A8%E6%88%BF+5%E6%A0%8B")
    )
    assert "没有符合这些筛选条件的事件" in page_text(coordinator.get("/staff/incidents?q=_0"))
