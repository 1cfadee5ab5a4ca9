"""Staff find members by name, phone or account number, by team and by grid
(``GET /api/v1/accounts``, issue 18), on every store; phones and records are shown to
coordinators and admins only, and go with a person's erasure."""

from __future__ import annotations

import pytest

from ledger.commands_people import NewMember
from ledger.people import check_record
from ledger.views import Actor


def member(kind, name, key, **record):
    return NewMember(kind, name, check_record(record)[0], key)


@pytest.fixture
def roster(app):
    ledger = app.extensions["goldbean.ledger"]
    opened = ledger.open_members(
        [
            member(
                "volunteer",
                "张伟",
                "t/1",
                phone="13800138001",
                building="3栋",
                grid="第一网格",
                teams="安全小红帽、巾帼志愿队",
            ),
            member(
                "volunteer", "张伟", "t/2", phone="13900139002", building="7栋", grid="第二网格"
            ),
            member("volunteer", "李娜", "t/3", phone="13700137003", teams="巾帼志愿队"),
            member(
                "beneficiary",
                "王奶奶",
                "t/4",
                building="5栋",
                grid="第一网格",
                guardian="王明",
                guardian_phone="13600136004",
            ),
        ]
    )
    return {view.display_name + str(i): view for i, view in enumerate(opened)}


def names(answer):
    assert answer.status_code == 200, answer.get_json()
    return [(item["display_name"], item.get("phone")) for item in answer.get_json()["items"]]


def test_a_coordinator_finds_members_by_name_phone_number_team_and_grid(sign_in, roster):
    coordinator = sign_in("coordinator")
    search = "/api/v1/accounts"
    assert sorted(names(coordinator.get(search, query_string={"q": "张"}))) == [
        ("张伟", "13800138001"),
        ("张伟", "13900139002"),
    ]
    # two 张伟 told apart by the last digits of the phone
    assert names(coordinator.get(search, query_string={"q": "9002"})) == [("张伟", "13900139002")]
    number = roster["李娜2"].number
    assert names(coordinator.get(search, query_string={"q": number})) == [("李娜", "13700137003")]
    found = coordinator.get(search, query_string={"team": "巾帼志愿队"}).get_json()["items"]
    assert sorted(i["display_name"] for i in found) == ["张伟", "李娜"]
    assert {tuple(i["teams"]) for i in found} == {("安全小红帽", "巾帼志愿队"), ("巾帼志愿队",)}
    in_grid = coordinator.get(search, query_string={"grid": "第一网格"}).get_json()["items"]
    assert sorted((i["display_name"], i["building"]) for i in in_grid) == [
        ("张伟", "3栋"),
        ("王奶奶", "5栋"),
    ]
    assert names(
        coordinator.get(search, query_string={"grid": "第一网格", "kind": "beneficiary"})
    ) == [("王奶奶", "")]
    assert names(coordinator.get(search, query_string={"q": "赵"})) == []


def test_results_come_a_page_at_a_time(sign_in, roster):
    admin = sign_in("admin")
    first = admin.get("/api/v1/accounts", query_string={"limit": 3}).get_json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = admin.get(
        "/api/v1/accounts", query_string={"limit": 3, "cursor": first["next_cursor"]}
    ).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    seen = {i["id"] for i in first["items"] + rest["items"]}
    assert seen == {view.id for view in roster.values()}


def test_an_auditor_sees_names_and_numbers_but_no_phones(sign_in, roster):
    auditor = sign_in("auditor")
    items = auditor.get("/api/v1/accounts", query_string={"q": "李"}).get_json()["items"]
    assert items == [
        {
            "id": roster["李娜2"].id,
            "kind": "volunteer",
            "display_name": "李娜",
            "number": roster["李娜2"].number,
        }
    ]
    # a phone finds nobody for an auditor, and teams and grids are not theirs to search
    assert auditor.get("/api/v1/accounts", query_string={"q": "13700137003"}).get_json() == {
        "items": [],
        "next_cursor": None,
    }
    refused = auditor.get("/api/v1/accounts", query_string={"grid": "第一网格"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"


def test_members_cannot_search_and_bad_queries_are_refused(sign_in, roster):
    volunteer = sign_in("volunteer", account_id=roster["李娜2"].id)
    assert volunteer.get("/api/v1/accounts").status_code == 403
    coordinator = sign_in("coordinator")
    for query in ({"kind": "merchant"}, {"limit": 0}, {"cursor": "x"}, {"q": "a\nb"}):
        answer = coordinator.get("/api/v1/accounts", query_string=query)
        assert answer.status_code == 422, query


def test_an_erased_person_is_found_by_nothing_personal(app, sign_in, roster):
    ledger = app.extensions["goldbean.ledger"]
    target = roster["李娜2"]
    ledger.request_erasure(target.id, Actor("one"))
    ledger.approve_erasure(target.id, Actor("two"))
    coordinator = sign_in("coordinator")
    assert names(coordinator.get("/api/v1/accounts", query_string={"q": "13700137003"})) == []
    assert names(coordinator.get("/api/v1/accounts", query_string={"team": "巾帼志愿队"})) == [
        ("张伟", "13800138001")
    ]
    assert ledger.get_member_record(target.id).phone == ""
