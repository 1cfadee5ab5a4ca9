"""Teams and grids over HTTP (issue 18): a coordinator creates a team and names its leader;
the leader confirms the team's attendance through the API and is refused for their own and
for another team's; a leader checks a member in by number; a grid head reads their grid's
queue only; a team that opts in shows its figures, without names, on the public site."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.people import MemberRecord
from ledger.views import Actor
from tests.api.helpers import problem_code
from tests.scenario import START

SETUP = Actor("setup-coordinator")
A = "/api/v1"


@pytest.fixture
def ledger(app):
    return app.extensions["goldbean.ledger"]


@pytest.fixture
def people(ledger):
    found = {name: ledger.open_volunteer(name).id for name in ("王芳", "李明", "张伟")}
    for person in found.values():
        ledger.set_member_record(person, MemberRecord(teams=("安全小红帽",), grid="一网格"))
    return found


@pytest.fixture
def coordinator(sign_in):
    return sign_in("coordinator")


@pytest.fixture
def team(coordinator, people):
    made = coordinator.post(f"{A}/teams", json={"name": "安全小红帽"})
    assert made.status_code == 201, made.get_json()
    team_id = made.get_json()["id"]
    named = coordinator.put(f"{A}/teams/{team_id}/leaders", json={"account_ids": [people["王芳"]]})
    assert named.get_json()["leader_ids"] == [people["王芳"]]
    return team_id


@pytest.fixture
def leader(sign_in, people):
    return sign_in("volunteer", account_id=people["王芳"])


def activity_of(ledger, team_id):
    return ledger.create_activity(
        "巡逻", START - timedelta(hours=1), START + timedelta(hours=2), 10, SETUP, team_id=team_id
    )


def test_a_leader_confirms_the_team_but_not_themselves(ledger, team, people, leader):
    activity = activity_of(ledger, team)
    for name in ("王芳", "李明"):
        ledger.check_in(activity.id, people[name], activity.checkin_code)

    own = leader.post(f"{A}/activities/{activity.id}/confirm", json={})
    assert (own.status_code, problem_code(own)) == (403, "self_verification")

    others = leader.post(
        f"{A}/activities/{activity.id}/confirm", json={"account_ids": [people["李明"]]}
    )
    assert others.status_code == 200 and others.get_json()["awarded"] == 1
    assert ledger.get_balance(people["李明"]) == 10 and ledger.get_balance(people["王芳"]) == 0


def test_a_leader_is_refused_another_teams_activity(ledger, coordinator, team, people, leader):
    other = coordinator.post(f"{A}/teams", json={"name": "巾帼志愿队"}).get_json()["id"]
    theirs = activity_of(ledger, other)
    ledger.check_in(theirs.id, people["李明"], theirs.checkin_code)
    refused = leader.post(f"{A}/activities/{theirs.id}/confirm", json={})
    assert (refused.status_code, problem_code(refused)) == (403, "forbidden")
    by_number = leader.post(
        f"{A}/activities/{theirs.id}/manual-checkins",
        json={"number": ledger.get_account(people["张伟"]).number},
    )
    assert (by_number.status_code, problem_code(by_number)) == (403, "forbidden")
    assert ledger.get_balance(people["李明"]) == 0


def test_a_leader_checks_a_member_in_by_number_not_themselves(ledger, team, people, leader):
    activity = activity_of(ledger, team)
    number = ledger.get_account(people["张伟"]).number

    done = leader.post(f"{A}/activities/{activity.id}/manual-checkins", json={"number": number})
    assert done.status_code == 201 and done.get_json()["account_id"] == people["张伟"]
    again = leader.post(f"{A}/activities/{activity.id}/manual-checkins", json={"number": number})
    assert again.get_json()["new"] is False
    own = leader.post(
        f"{A}/activities/{activity.id}/manual-checkins",
        json={"number": ledger.get_account(people["王芳"]).number},
    )
    assert (own.status_code, problem_code(own)) == (403, "self_verification")
    unknown = leader.post(
        f"{A}/activities/{activity.id}/manual-checkins", json={"number": "99999999"}
    )
    assert (unknown.status_code, problem_code(unknown)) == (422, "invalid_code")
    assert ledger.get_activity(activity.id).checked_in == [people["张伟"]]


def test_a_grid_head_reads_their_grid_only(ledger, coordinator, sign_in, people):
    mine = coordinator.post(f"{A}/grids", json={"name": "一网格"}).get_json()["id"]
    other = coordinator.post(f"{A}/grids", json={"name": "二网格"}).get_json()["id"]
    coordinator.put(f"{A}/grids/{mine}/heads", json={"account_ids": [people["张伟"]]})
    reporter = sign_in("volunteer", account_id=people["李明"])
    ours = reporter.post(f"{A}/incidents", json={"category": "fire", "description": "烟"})
    assert ledger.get_incident(ours.get_json()["id"]).grid_id == mine  # the reporter's own
    theirs = reporter.post(
        f"{A}/incidents", json={"category": "dispute", "description": "吵架", "grid_id": other}
    )
    assert ledger.get_incident(theirs.get_json()["id"]).grid_id == other

    head = sign_in("volunteer", account_id=people["张伟"])
    queue = head.get(f"{A}/grids/{mine}/incidents")
    assert [i["id"] for i in queue.get_json()["items"]] == [ours.get_json()["id"]]
    assert "reporter_id" not in queue.get_json()["items"][0]
    refused = head.get(f"{A}/grids/{other}/incidents")
    assert (refused.status_code, problem_code(refused)) == (403, "forbidden")
    read_only = head.post(f"{A}/incidents/{ours.get_json()['id']}/verify", json={})
    assert read_only.status_code == 403


def test_figures_and_the_public_list(ledger, coordinator, team, people, leader, anonymous):
    activity = activity_of(ledger, team)
    ledger.check_in(activity.id, people["李明"], activity.checkin_code)
    leader.post(f"{A}/activities/{activity.id}/confirm", json={"account_ids": [people["李明"]]})

    listed = coordinator.get(f"{A}/teams").get_json()["items"]
    assert [(t["name"], t["members"], t["activities"], t["beans_earned"]) for t in listed] == [
        ("安全小红帽", 3, 1, 10)
    ]
    assert anonymous.get(f"{A}/public/teams").get_json()["items"] == []
    coordinator.patch(f"{A}/teams/{team}", json={"public": True})
    public = anonymous.get(f"{A}/public/teams")
    assert public.get_json()["items"] == [
        {
            "name": "安全小红帽",
            "members": 3,
            "activities": 1,
            "beans_earned": 10,
            "incidents_verified": 0,
        }
    ]
    assert "李明" not in public.get_data(as_text=True)


def test_a_team_name_is_taken_once(coordinator, team):
    again = coordinator.post(f"{A}/teams", json={"name": "安全小红帽"})
    assert (again.status_code, problem_code(again)) == (409, "invalid_state")


def test_a_coordinator_moves_an_incident_and_the_heads_follow(ledger, coordinator, sign_in, people):
    first = coordinator.post(f"{A}/grids", json={"name": "一网格"}).get_json()["id"]
    second = coordinator.post(f"{A}/grids", json={"name": "二网格"}).get_json()["id"]
    coordinator.put(f"{A}/grids/{second}/heads", json={"account_ids": [people["张伟"]]})
    report = ledger.submit_incident(people["李明"], "fire", "烟")
    assert report.grid_id == first
    moved = coordinator.post(f"{A}/incidents/{report.id}/grid", json={"grid_id": second})
    assert moved.get_json() == {"id": report.id, "grid_id": second}
    head = sign_in("volunteer", account_id=people["张伟"])
    items = head.get(f"{A}/grids/{second}/incidents").get_json()["items"]
    assert [i["id"] for i in items] == [report.id]
