"""The rules page (issue 18): the rules in words; an administrator proposes a change
(asked once more), cannot approve their own, another approves it (asked once more), and
the page, /how and the month's report show it; the allotments page lists the month's
recipients."""

from __future__ import annotations

import html as html_module
import re
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from ledger.rules import INCIDENT_CATEGORIES
from tests.api.test_web_staff_pages import CSRF, HIDDEN, PASSWORD

CONFIRM = re.compile(r'<form[^>]*id="confirm-form"[^>]*>(.*?)</form>', re.S)


@pytest.fixture
def auth(app):
    return app.extensions["goldbean.auth"]


@pytest.fixture
def ledger(app):
    return app.extensions["goldbean.ledger"]


def signed_in(app, auth, username: str, role: str):
    auth.create_user(username, PASSWORD, role)
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    form = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form).status_code == 303
    return client


def text(answer) -> str:
    return html_module.unescape(answer.get_data(as_text=True))


def the_form(client, ledger, **changes) -> MultiDict:
    """The propose form as the page fills it (every rule as it is), with ``changes``."""
    page = client.get("/staff/rules").get_data(as_text=True)
    form = re.search(r'<form[^>]*id="rule-change-form"[^>]*>(.*?)</form>', page, re.S)
    assert form, "the page has no propose form"
    rules = ledger.rules
    fields = dict(HIDDEN.findall(form.group(1)))
    for category in INCIDENT_CATEGORIES:
        fields[f"award_{category}"] = str(rules.incident_awards[category])
    for name in (
        "handler_award", "max_award", "daily_award_cap", "max_redemption",
        "beneficiary_daily_limit", "allotment_beans", "allotment_max", "refund_window_days",
    ):  # fmt: skip
        fields[name] = str(getattr(rules, name))
    fields["default_rebate_percent"] = "10"
    fields["when"] = "approved"
    categories = changes.pop("beneficiary_categories", rules.beneficiary_categories)
    fields.update(changes)
    data = MultiDict(fields)
    for category in categories:
        data.add("beneficiary_categories", category)
    return data


def token(client) -> dict[str, str]:
    """The page's CSRF token, for a form the page does not offer this person."""
    return {"csrf_token": CSRF.search(client.get("/staff/rules").get_data(as_text=True)).group(1)}


def confirmed(client, action: str, data=None) -> object:
    """Send a form, then say yes on the confirmation page."""
    asked = client.post(action, data=data if data is not None else token(client))
    assert asked.status_code == 200, text(asked)
    found = CONFIRM.search(asked.get_data(as_text=True))
    assert found, "no confirmation was asked"
    return client.post(action, data=MultiDict(HIDDEN.findall(found.group(1))))


def test_a_rule_change_is_proposed_refused_to_its_proposer_and_approved_by_another(
    app, auth, ledger, community
):
    first = signed_in(app, auth, "admin-wang", "admin")
    second = signed_in(app, auth, "admin-zhao", "admin")
    eateries = ["grocery", "produce", "canteen", "restaurant"]
    data = the_form(first, ledger, beneficiary_categories=eateries, community_name="金沙社区")

    asked = first.post("/staff/rules/changes", data=data)
    question = text(asked)
    assert "提议这项规则变更吗？" in question and "餐馆" in question and "金沙社区" in question
    assert ledger.rule_changes() == []  # nothing until confirmed
    done = confirmed(first, "/staff/rules/changes", data)
    assert done.status_code == 303
    (change,) = ledger.rule_changes()
    assert change.values == {"beneficiary_categories": eateries, "community_name": "金沙社区"}

    own_page = text(first.get("/staff/rules"))
    assert "等待批准" in own_page and "您提出了这项变更" in own_page
    assert f'/staff/rules/changes/{change.id}/approve"' not in own_page
    refused = confirmed(first, f"/staff/rules/changes/{change.id}/approve")
    assert refused.status_code == 303 and ledger.rule_changes()[0].status == "pending"

    offered = second.get("/staff/rules").get_data(as_text=True)
    assert f'action="/staff/rules/changes/{change.id}/approve"' in offered
    approved = confirmed(second, f"/staff/rules/changes/{change.id}/approve")
    assert approved.status_code == 303
    assert ledger.rules.beneficiary_categories == tuple(eateries)
    page = text(second.get("/staff/rules"))
    assert "已批准" in page and "餐馆" in page and "金沙社区" in page
    how = text(app.test_client().get("/how"))
    assert "餐馆" in how and "金沙社区" in how

    report = text(app.test_client().get("/reports/2026-03"))
    assert "本月规则变更" in report and "餐馆" in report


def test_a_proposal_out_of_bounds_is_refused_with_the_reason(app, auth, ledger):
    admin = signed_in(app, auth, "admin-wang", "admin")
    answer = admin.post("/staff/rules/changes", data=the_form(admin, ledger, max_redemption="0"))
    assert answer.status_code == 422
    assert "单笔付款最多金豆：请输入 1 到 10,000 之间的整数。" in text(answer)
    unchanged = admin.post("/staff/rules/changes", data=the_form(admin, ledger))
    assert unchanged.status_code == 422 and "没有任何改动" in text(unchanged)
    past = the_form(admin, ledger, max_redemption="300", when="at")
    past["effective_at"] = "2020-01-01T08:00"
    assert admin.post("/staff/rules/changes", data=past).status_code == 422
    assert ledger.rule_changes() == []


def test_a_change_at_a_stated_time_is_shown_with_its_time(app, auth, ledger, community):
    admin = signed_in(app, auth, "admin-wang", "admin")
    later = (community.now + timedelta(days=2)).astimezone(ledger.calendar.zone)
    data = the_form(admin, ledger, allotment_beans="80", when="at")
    data["effective_at"] = later.strftime("%Y-%m-%dT%H:%M")
    assert confirmed(admin, "/staff/rules/changes", data).status_code == 303
    (change,) = ledger.rule_changes()
    assert change.effective_at == later.replace(second=0, microsecond=0)
    withdrawn = confirmed(admin, f"/staff/rules/changes/{change.id}/withdraw")
    assert withdrawn.status_code == 303 and ledger.rule_changes()[0].status == "withdrawn"


def test_the_allotments_page_lists_the_month_s_recipients(app, auth, ledger, community):
    coordinator = signed_in(app, auth, "coord", "coordinator")
    zhang, wang = community.beneficiary("张奶奶"), community.beneficiary("王爷爷")
    assert "本月的补贴还没有人领到。" in text(coordinator.get("/staff/allotments"))
    ledger.run_scheduled_allotments()
    page = text(coordinator.get("/staff/allotments"))
    assert "2 位受助居民已领到。" in page
    assert "张奶奶" in page.split('id="recipients"')[1] and "王爷爷" in page
    assert community.balance(zhang) == community.balance(wang) == 100
