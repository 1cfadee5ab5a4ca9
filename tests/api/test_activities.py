"""Volunteer activities over HTTP: a coordinator creates one, volunteers check in with its
code while it runs, and the coordinator confirms the attendance, awarding each attendee
once and never past the daily award cap."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from ledger.views import Actor
from tests.api.helpers import assert_replayed, problem_code
from tests.scenario import START

SETUP = Actor("setup-coordinator")
# The fake clock stands at 10:00 in Kunming: this activity runs from 09:00 to 12:00.
CLEAN_UP = {
    "title": "Clean-up of the Jinsha canal",
    "starts_at": "2026-03-10T09:00:00+08:00",
    "ends_at": "2026-03-10T12:00:00+08:00",
    "beans": 15,
}


@pytest.fixture
def ledger(app):
    return app.extensions["goldbean.ledger"]


@pytest.fixture
def coordinator(sign_in):
    return sign_in("coordinator")


@pytest.fixture
def li(ledger):
    return ledger.open_volunteer("李伟").id


@pytest.fixture
def wang(ledger):
    return ledger.open_volunteer("王芳").id


@pytest.fixture
def running(ledger):
    """An activity of 10 beans that started an hour ago and ends in two hours."""
    return ledger.create_activity(
        "Reading to the elderly", START - timedelta(hours=1), START + timedelta(hours=2), 10, SETUP
    )


def check_in(ledger, activity, *account_ids):
    for account_id in account_ids:
        ledger.check_in(activity.id, account_id, activity.checkin_code)


# --- creating and reading ----------------------------------------------------------------


def test_a_coordinator_creates_an_activity_and_staff_read_it_back(coordinator, sign_in):
    answer = coordinator.post("/api/v1/activities", json=CLEAN_UP)
    assert answer.status_code == 201
    made = answer.get_json()
    assert set(made) == {"id", "checkin_code"}
    assert len(made["checkin_code"]) == 13 and made["checkin_code"].isdigit()

    for reader in (coordinator, sign_in("auditor")):
        shown = reader.get(f"/api/v1/activities/{made['id']}")
        assert shown.status_code == 200
        body = shown.get_json()
        assert body == {
            "id": made["id"],
            "title": "Clean-up of the Jinsha canal",
            "starts_at": body["starts_at"],
            "ends_at": body["ends_at"],
            "beans": 15,
            "checked_in": [],
            "confirmed": [],
            "team_id": None,  # no team's (issue 18)
        }
        assert datetime.fromisoformat(body["starts_at"]) == START - timedelta(hours=1)
        assert datetime.fromisoformat(body["ends_at"]) == START + timedelta(hours=2)


def test_an_activity_needs_aware_times_in_order_and_a_whole_award(coordinator):
    for change, field in [
        ({"starts_at": "2026-03-10T09:00:00"}, "starts_at"),
        ({"ends_at": "2026-03-10 noon"}, "ends_at"),
        ({"beans": 101}, None),  # the ledger's maximum award
        ({"beans": -1}, "beans"),
        ({"beans": "15"}, "beans"),
        ({"beans": 1.5}, "beans"),
        ({"title": ""}, "title"),
        ({"ends_at": "2026-03-10T08:00:00+08:00"}, None),  # ends before it starts
        ({"checkin_code": "1234567890123"}, "checkin_code"),
    ]:
        answer = coordinator.post("/api/v1/activities", json={**CLEAN_UP, **change})
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), change
        if field:
            assert field in answer.get_json()["errors"]["json"], change
    missing = coordinator.post("/api/v1/activities", json={"title": "Clean-up"})
    assert set(missing.get_json()["errors"]["json"]) == {"starts_at", "ends_at", "beans"}


def test_an_activity_lies_within_a_year_of_today(coordinator, sign_in):
    """An activity dated 9999-12-31 used to be accepted, and every staff activities page
    answered 500 (OverflowError) from then on."""
    far = {"starts_at": "9999-12-31T20:00:00-14:00", "ends_at": "9999-12-31T22:00:00-14:00"}
    for change in (
        far,
        {"starts_at": "1970-01-01T09:00:00+08:00"},
        {"ends_at": (START + timedelta(days=400)).isoformat()},
    ):
        answer = coordinator.post("/api/v1/activities", json={**CLEAN_UP, **change})
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), change
        assert "within a year" in answer.get_json()["detail"]
    inside = {"ends_at": (START + timedelta(days=300)).isoformat()}
    assert coordinator.post("/api/v1/activities", json={**CLEAN_UP, **inside}).status_code == 201


def test_only_a_coordinator_creates_activities_and_only_staff_who_may_read_them(
    sign_in, anonymous, coordinator, li
):
    volunteer = sign_in("volunteer", account_id=li)
    assert problem_code(anonymous.post("/api/v1/activities", json=CLEAN_UP)) == "unauthenticated"
    for client in (volunteer, sign_in("auditor"), sign_in("admin")):
        answer = client.post("/api/v1/activities", json=CLEAN_UP)
        assert (answer.status_code, problem_code(answer)) == (403, "forbidden")

    made = coordinator.post("/api/v1/activities", json=CLEAN_UP).get_json()
    path = f"/api/v1/activities/{made['id']}"
    assert problem_code(anonymous.get(path)) == "unauthenticated"
    answer = volunteer.get(path)  # a volunteer must not read the check-in list or code
    assert (answer.status_code, problem_code(answer)) == (403, "forbidden")
    for unknown in (uuid4(), "not-an-id"):
        answer = coordinator.get(f"/api/v1/activities/{unknown}")
        assert (answer.status_code, problem_code(answer)) == (404, "not_found")


def test_creating_an_activity_twice_with_one_idempotency_key_creates_one(coordinator):
    made = assert_replayed(coordinator, "/api/v1/activities", CLEAN_UP, "activity-1")
    assert coordinator.get(f"/api/v1/activities/{made['id']}").status_code == 200
    other = coordinator.post(
        "/api/v1/activities",
        json={**CLEAN_UP, "beans": 20},
        headers={"Idempotency-Key": "activity-1"},
    )
    assert (other.status_code, problem_code(other)) == (422, "idempotency_key_reused")


# --- checking in -------------------------------------------------------------------------


def test_a_volunteer_checks_in_while_the_activity_runs(
    sign_in, coordinator, running, li, clock, ledger
):
    volunteer = sign_in("volunteer", account_id=li)
    path = f"/api/v1/activities/{running.id}/checkins"
    answer = volunteer.post(path, json={"checkin_code": running.checkin_code})
    assert answer.status_code == 201
    assert answer.get_json() == {"activity_id": running.id, "account_id": li}

    twice = volunteer.post(path, json={"checkin_code": running.checkin_code})
    assert twice.status_code == 201  # harmless
    shown = coordinator.get(f"/api/v1/activities/{running.id}").get_json()
    assert shown["checked_in"] == [li] and shown["confirmed"] == []

    clock.advance(hours=2, seconds=1)
    late = sign_in("volunteer", account_id=ledger.open_volunteer("王芳").id)
    answer = late.post(path, json={"checkin_code": running.checkin_code})
    assert (answer.status_code, problem_code(answer)) == (422, "code_expired")


def test_checking_in_before_the_activity_starts_is_refused(sign_in, coordinator, li):
    tomorrow = {
        **CLEAN_UP,
        "starts_at": "2026-03-11T09:00:00+08:00",
        "ends_at": "2026-03-11T12:00:00+08:00",
    }
    made = coordinator.post("/api/v1/activities", json=tomorrow).get_json()
    answer = sign_in("volunteer", account_id=li).post(
        f"/api/v1/activities/{made['id']}/checkins", json={"checkin_code": made["checkin_code"]}
    )
    assert (answer.status_code, problem_code(answer)) == (422, "code_expired")


def test_a_wrong_or_malformed_check_in_code_is_invalid(sign_in, ledger, running, li):
    other = ledger.create_activity(
        "Another", START - timedelta(hours=1), START + timedelta(hours=1), 5, SETUP
    )
    volunteer = sign_in("volunteer", account_id=li)
    path = f"/api/v1/activities/{running.id}/checkins"
    for code in (other.checkin_code, "12345", running.checkin_code[:-1] + "x"):
        answer = volunteer.post(path, json={"checkin_code": code})
        assert (answer.status_code, problem_code(answer)) == (422, "invalid_code"), code
    for body in ({}, {"checkin_code": ""}, {"checkin_code": 7}):
        answer = volunteer.post(path, json=body)
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), body
    unknown = volunteer.post(
        f"/api/v1/activities/{uuid4()}/checkins", json={"checkin_code": running.checkin_code}
    )
    assert (unknown.status_code, problem_code(unknown)) == (404, "not_found")
    assert ledger.get_activity(running.id).checked_in == []


def test_only_a_volunteer_checks_in(sign_in, anonymous, running, ledger):
    path = f"/api/v1/activities/{running.id}/checkins"
    body = {"checkin_code": running.checkin_code}
    assert problem_code(anonymous.post(path, json=body)) == "unauthenticated"
    for role in ("coordinator", "auditor", "admin"):
        answer = sign_in(role).post(path, json=body)
        assert (answer.status_code, problem_code(answer)) == (403, "forbidden")
    assert ledger.get_activity(running.id).checked_in == []


def test_a_check_in_sent_twice_with_one_idempotency_key_replays(sign_in, running, li):
    volunteer = sign_in("volunteer", account_id=li)
    body = assert_replayed(
        volunteer,
        f"/api/v1/activities/{running.id}/checkins",
        {"checkin_code": running.checkin_code},
        "scan-1",
    )
    assert body == {"activity_id": running.id, "account_id": li}


# --- confirming --------------------------------------------------------------------------


def test_confirming_the_attendance_awards_each_attendee_once(
    coordinator, ledger, running, li, wang
):
    check_in(ledger, running, li, wang)
    path = f"/api/v1/activities/{running.id}/confirm"
    answer = coordinator.post(path, json={})
    assert answer.status_code == 200
    assert answer.get_json() == {"id": running.id, "awarded": 2}
    assert [ledger.get_balance(a) for a in (li, wang)] == [10, 10]

    again = coordinator.post(path, json={})
    assert again.get_json() == {"id": running.id, "awarded": 0}
    assert [ledger.get_balance(a) for a in (li, wang)] == [10, 10]
    shown = coordinator.get(f"/api/v1/activities/{running.id}").get_json()
    assert sorted(shown["confirmed"]) == sorted([li, wang])


def test_a_coordinator_confirms_some_attendees_and_the_rest_later(
    coordinator, ledger, running, li, wang
):
    check_in(ledger, running, li, wang)
    zhao = ledger.open_volunteer("赵强").id  # did not come
    path = f"/api/v1/activities/{running.id}/confirm"
    for body in ({"account_ids": [li, zhao]}, {"account_ids": li}, {"everyone": True}):
        answer = coordinator.post(path, json=body)
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), body
    assert ledger.get_balance(li) == 0

    assert coordinator.post(path, json={"account_ids": [li]}).get_json()["awarded"] == 1
    assert coordinator.post(path, json={"account_ids": None}).get_json()["awarded"] == 1
    assert [ledger.get_balance(a) for a in (li, wang, zhao)] == [10, 10, 0]

    unknown = coordinator.post(f"/api/v1/activities/{uuid4()}/confirm", json={})
    assert (unknown.status_code, problem_code(unknown)) == (404, "not_found")


def test_confirming_past_an_attendees_daily_cap_awards_nobody_until_the_next_day(
    sign_in, coordinator, ledger, running, li, wang, clock
):
    for n in range(2):
        earlier = ledger.submit_incident(wang, "other", f"wang's report {n}").id
        ledger.verify_incident(earlier, SETUP, award=100)
    check_in(ledger, running, li, wang)
    path = f"/api/v1/activities/{running.id}/confirm"

    answer = coordinator.post(path, json={})
    assert (answer.status_code, problem_code(answer)) == (422, "award_cap_exceeded")
    assert "王芳" in answer.get_json()["detail"]
    assert [ledger.get_balance(a) for a in (li, wang)] == [0, 200]

    assert coordinator.post(path, json={"account_ids": [li]}).get_json()["awarded"] == 1
    clock.advance(days=1)  # yesterday's session has expired too: sign in again
    assert sign_in("coordinator").post(path, json={}).get_json()["awarded"] == 1
    assert [ledger.get_balance(a) for a in (li, wang)] == [10, 210]


def test_only_a_coordinator_confirms_attendance(sign_in, anonymous, ledger, running, li):
    check_in(ledger, running, li)
    path = f"/api/v1/activities/{running.id}/confirm"
    assert problem_code(anonymous.post(path, json={})) == "unauthenticated"
    for client in (sign_in("volunteer", account_id=li), sign_in("auditor"), sign_in("admin")):
        answer = client.post(path, json={})
        assert (answer.status_code, problem_code(answer)) == (403, "forbidden")
    assert ledger.get_balance(li) == 0


def test_a_confirmation_sent_twice_with_one_idempotency_key_answers_the_same(
    coordinator, ledger, running, li, wang
):
    check_in(ledger, running, li, wang)
    path = f"/api/v1/activities/{running.id}/confirm"
    body = assert_replayed(coordinator, path, {}, "confirm-1")
    assert body == {"id": running.id, "awarded": 2}  # not "awarded: 0" the second time
    assert [ledger.get_balance(a) for a in (li, wang)] == [10, 10]
