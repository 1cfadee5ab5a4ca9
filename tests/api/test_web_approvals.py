"""The coordinator's pages for four eyes above a threshold, and the corrections page's
choice of credit (issue 14).

A correction or an allotment batch above the programme's threshold is prepared from the
usual form; the page lists it as waiting for a second coordinator, with an Approve
button only for someone other than the preparer, and a Withdraw button. The corrections
page offers the chosen member's credits (awards, allotments, gifts, pool allocations)
with what is left to correct of each. Here a coordinator alone corrects up to 20 beans
and grants batches of up to 200 beans in all."""

from __future__ import annotations

import re

import pytest

from api.app import create_app
from ledger.persistence import open_ledger
from ledger.rules import Rules
from tests.api.test_web_coordinator import page_text, send
from tests.api.test_web_pages import PASSWORD, csrf_token, log_in

RULES = Rules(correction_approval_above=20, allotment_batch_approval_above=200)
APPROVE = re.compile(r'action="(/staff/(?:corrections|allotments)/requests/[^"]+/approve)"')
WITHDRAW = re.compile(r'action="(/staff/(?:corrections|allotments)/requests/[^"]+/withdraw)"')


@pytest.fixture
def app(clock):
    ledger = open_ledger("memory://", clock=clock, create_tables=True, rules=RULES)
    app = create_app({"database_url": "memory://", "demo": True}, ledger=ledger)
    yield app
    app.extensions["goldbean.store"].close()
    ledger.close()


@pytest.fixture
def ledger(app):
    return app.extensions["goldbean.ledger"]


def coordinator_named(app, name: str):
    app.extensions["goldbean.auth"].create_user(name, PASSWORD, "coordinator")
    client = app.test_client()
    assert log_in(client, name).status_code == 303
    return client


@pytest.fixture
def first(app):
    return coordinator_named(app, "coord-a")


@pytest.fixture
def second(app):
    return coordinator_named(app, "coord-b")


def post_button(client, page: str, action: str):
    """Press the button of the form posting to ``action`` on ``page``."""
    html = client.get(page).get_data(as_text=True)
    fields = {"csrf_token": csrf_token(html)}
    key = re.search(
        rf'action="{re.escape(action)}"[^>]*>.*?name="form_key" value="([^"]+)"', html, re.S
    )
    if key:
        fields["form_key"] = key.group(1)
    return client.post(action, data=fields)


def test_the_corrections_page_offers_the_members_credits_with_what_is_left(
    first, community, ledger
):
    li, gran = community.volunteer("李伟"), community.beneficiary("张奶奶")
    (fire,) = community.earn(li, 10)
    gift = community.give(li, gran, 4).id
    community.ledger.correct(li, 3, "多发了", community.coordinator, corrects=fire)

    page = page_text(first.get(f"/staff/corrections?account_id={li}"))
    assert "更正李伟的金豆" in page
    assert f'value="{fire}"' in page
    assert "收到 10 金豆，还可收回 7" in page
    assert f'value="{gift}"' not in page  # the gift credited the grandmother, not Li

    theirs = page_text(first.get(f"/staff/corrections?account_id={gran}&corrects={gift}"))
    assert f'<option value="{gift}" selected>' in theirs
    assert "收到 4 金豆，还可收回 4" in theirs

    nobody = page_text(first.get(f"/staff/corrections?account_id={community.volunteer('王芳')}"))
    assert "此人没有收到过可以更正收回的金豆" in nobody and 'id="correction-form"' not in nobody


def test_a_large_correction_waits_for_another_coordinator_who_approves_it(
    first, second, community, ledger
):
    li = community.volunteer("李伟")
    (award,) = community.earn(li, 60)
    answer, _ = send(
        first,
        f"/staff/corrections?account_id={li}",
        "correction-form",
        "/staff/corrections",
        account_id=li,
        corrects=award,
        amount="45",
        reason="重复上报",
    )
    assert answer.status_code == 303
    assert ledger.get_balance(li) == 60  # nothing taken yet
    mine = page_text(first.get("/staff/corrections"))
    assert "已提交收回 45 金豆的更正" in mine and "从李伟收回 45 金豆" in mine
    assert "这是您提交的：须由另一位协调员审批" in mine
    assert not APPROVE.search(mine)  # no Approve button for the preparer

    (approve,) = APPROVE.findall(second.get("/staff/corrections").get_data(as_text=True))
    refused = post_button(first, "/staff/corrections", approve)  # forged by the preparer
    assert refused.status_code == 303 and ledger.get_balance(li) == 60
    assert "须由另一位协调员审批" in page_text(first.get("/staff/corrections"))

    approved = post_button(second, "/staff/corrections", approve)
    assert approved.status_code == 303
    assert ledger.get_balance(li) == 15
    page = page_text(second.get("/staff/corrections"))
    assert "已记录更正：从李伟收回 45 金豆" in page
    assert 'id="pending-requests"' not in page


def test_a_pending_correction_is_withdrawn(first, second, community, ledger):
    li = community.volunteer("李伟")
    (award,) = community.earn(li, 60)
    send(
        first,
        f"/staff/corrections?account_id={li}",
        "correction-form",
        "/staff/corrections",
        account_id=li,
        corrects=award,
        amount="30",
        reason="错了",
    )
    (withdraw,) = WITHDRAW.findall(first.get("/staff/corrections").get_data(as_text=True))
    assert post_button(first, "/staff/corrections", withdraw).status_code == 303
    page = page_text(first.get("/staff/corrections"))
    assert "申请已撤回" in page and 'id="pending-requests"' not in page
    assert ledger.list_approval_requests() == [] and ledger.get_balance(li) == 60


def test_a_large_allotment_batch_waits_for_another_coordinator(first, second, community, ledger):
    grans = [community.beneficiary(name) for name in ("张奶奶", "王爷爷", "李奶奶")]
    answer, _ = send(
        first, "/staff/allotments", "allotment-form", "/staff/allotments", period="2026-03"
    )
    assert answer.status_code == 200
    page = page_text(answer)
    assert "这批补贴共 300 金豆" in page
    assert [ledger.get_balance(g) for g in grans] == [0, 0, 0]
    assert not APPROVE.search(first.get("/staff/allotments").get_data(as_text=True))

    theirs = second.get("/staff/allotments").get_data(as_text=True)
    assert "2026年3月 的补贴，发给 3 位受助居民" in page_text(second.get("/staff/allotments"))
    (approve,) = APPROVE.findall(theirs)
    approved = post_button(second, "/staff/allotments", approve)
    assert approved.status_code == 303
    assert [ledger.get_balance(g) for g in grans] == [100, 100, 100]
    assert "已批准：3 位受助居民领到了 2026年3月 的补贴" in page_text(
        second.get("/staff/allotments")
    )

    again = post_button(second, "/staff/allotments", approve)  # the same button again
    assert again.status_code == 303
    assert [ledger.get_balance(g) for g in grans] == [100, 100, 100]


def test_a_batch_up_to_the_threshold_is_granted_at_once(first, community, ledger):
    grans = [community.beneficiary(name) for name in ("张奶奶", "王爷爷")]
    answer, _ = send(
        first, "/staff/allotments", "allotment-form", "/staff/allotments", period="2026-03"
    )
    assert "2 位受助居民已发放" in page_text(answer)
    assert [ledger.get_balance(g) for g in grans] == [100, 100]
