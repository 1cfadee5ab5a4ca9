"""Reporting incidents and handling them over HTTP: a volunteer reports, a coordinator
verifies, rejects, marks duplicates, names handlers and resolves; the ledger's rules
(states, four eyes, the daily award cap) answer with SPEC §6's codes."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pytest

from ledger.errors import Conflict
from ledger.views import Actor
from tests.api.helpers import assert_replayed, problem_code

SETUP = Actor("setup-coordinator")
ACTIONS = {
    "verify": {},
    "reject": {"reason": "not in our community"},
    "duplicate": {"of": str(uuid4())},
    "handlers": {"account_ids": [str(uuid4())]},
    "resolve": {},
}


@pytest.fixture
def ledger(app):
    return app.extensions["goldbean.ledger"]


@pytest.fixture
def li(ledger):
    return ledger.open_volunteer("李伟").id


@pytest.fixture
def reporter(sign_in, li):
    return sign_in("volunteer", account_id=li)


@pytest.fixture
def coordinator(sign_in):
    return sign_in("coordinator")


@pytest.fixture
def coordinator_with_account(sign_in):
    """A coordinator who also holds a volunteer account, which four eyes compares."""
    return lambda account_id: sign_in("coordinator", account_id=account_id)


# --- reporting ---------------------------------------------------------------------------


def test_a_volunteer_reports_an_incident_as_its_reporter(reporter, li, ledger):
    answer = reporter.post(
        "/api/v1/incidents",
        json={
            "category": "fire",
            "description": "smoke from the bike shed",
            "location": "Building 3",
            "urgent": True,
        },
    )
    assert answer.status_code == 201
    body = answer.get_json()
    assert body == {"id": body["id"], "status": "submitted", "category": "fire", "reporter_id": li}
    stored = ledger.get_incident(body["id"])
    assert (stored.description, stored.location, stored.urgent) == (
        "smoke from the bike shed",
        "Building 3",
        True,
    )
    assert ledger.get_balance(li) == 0  # awarded only when verified


def test_only_a_volunteer_reports(anonymous, sign_in):
    report = {"category": "other", "description": "a loose paving stone"}
    assert problem_code(anonymous.post("/api/v1/incidents", json=report)) == "unauthenticated"
    for role in ("coordinator", "auditor", "admin"):
        answer = sign_in(role).post("/api/v1/incidents", json=report)
        assert (answer.status_code, problem_code(answer)) == (403, "forbidden")


def test_a_report_with_wrong_missing_or_unknown_fields_is_refused(reporter):
    for report, field in [
        ({"category": "flood", "description": "water"}, "category"),
        ({"category": "fire"}, "description"),
        ({"category": "fire", "description": ""}, "description"),
        ({"category": "fire", "description": "smoke", "urgent": "yes"}, "urgent"),
        ({"category": "fire", "description": "smoke", "reporter_id": "x"}, "reporter_id"),
    ]:
        answer = reporter.post("/api/v1/incidents", json=report)
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), report
        assert field in answer.get_json()["errors"]["json"]
    blank = reporter.post("/api/v1/incidents", json={"category": "fire", "description": "  "})
    assert (blank.status_code, problem_code(blank)) == (
        422,
        "validation_error",
    )  # the ledger's rule


def test_a_report_sent_twice_with_one_idempotency_key_is_recorded_once(reporter, ledger):
    report = {"category": "dispute", "description": "noise at night"}
    first = assert_replayed(reporter, "/api/v1/incidents", report, "report-1")
    assert ledger.get_incident(first["id"]).status == "submitted"
    other = reporter.post(
        "/api/v1/incidents",
        json={**report, "urgent": True},
        headers={"Idempotency-Key": "report-1"},
    )
    assert (other.status_code, problem_code(other)) == (422, "idempotency_key_reused")


def test_a_conflict_leaves_the_idempotency_key_free_so_the_retry_succeeds(
    reporter, ledger, monkeypatch
):
    """409 conflict means "try again": the key must not keep replaying the conflict."""
    real = type(ledger).submit_incident
    clashes = iter([True])

    def clash_once(self, *args, **kwargs):
        if next(clashes, False):
            raise Conflict("submitting clashed with concurrent changes; try again")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(ledger), "submit_incident", clash_once)
    report = {"category": "dispute", "description": "noise at night"}
    headers = {"Idempotency-Key": "report-after-clash"}
    first = reporter.post("/api/v1/incidents", json=report, headers=headers)
    assert (first.status_code, problem_code(first)) == (409, "conflict")
    retry = reporter.post("/api/v1/incidents", json=report, headers=headers)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert ledger.get_incident(retry.get_json()["id"]).status == "submitted"


# --- listing -----------------------------------------------------------------------------


def test_incidents_are_listed_urgent_first_then_oldest_first(
    sign_in, coordinator, anonymous, ledger, li, clock
):
    def report(description, urgent):
        clock.advance(minutes=5)
        return ledger.submit_incident(li, "sanitation", description, urgent=urgent).id

    old, urgent_old, new, urgent_new = (
        report("litter", False),
        report("broken pipe", True),
        report("graffiti", False),
        report("gas smell", True),
    )
    ledger.verify_incident(new, SETUP)

    answer = coordinator.get("/api/v1/incidents")
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [i["id"] for i in items] == [urgent_old, urgent_new, old, new]
    first = items[0]
    assert datetime.fromisoformat(first["at"]) == ledger.get_incident(urgent_old).at
    assert first == {
        "id": urgent_old,
        "status": "submitted",
        "category": "sanitation",
        "description": "broken pipe",
        "location": None,
        "urgent": True,
        "reporter_id": li,
        "handler_ids": [],
        "award": None,
        "at": first["at"],
    }

    auditor = sign_in("auditor")
    verified = auditor.get("/api/v1/incidents?status=verified").get_json()["items"]
    assert [(i["id"], i["status"], i["award"]) for i in verified] == [(new, "verified", 2)]
    none = coordinator.get("/api/v1/incidents?status=resolved").get_json()
    assert none == {"items": [], "next_cursor": None}

    bad = coordinator.get("/api/v1/incidents?status=lost")
    assert (bad.status_code, problem_code(bad)) == (422, "validation_error")
    assert problem_code(anonymous.get("/api/v1/incidents")) == "unauthenticated"
    volunteer = sign_in("volunteer", account_id=li)
    assert problem_code(volunteer.get("/api/v1/incidents")) == "forbidden"


def test_the_list_follows_each_incident_through_its_life(coordinator, ledger, li):
    made = [ledger.submit_incident(li, "other", f"report {n}").id for n in range(5)]
    items = coordinator.get("/api/v1/incidents").get_json()["items"]
    assert [i["id"] for i in items] == made  # in the order reported
    coordinator.post(f"/api/v1/incidents/{made[1]}/verify", json={"award": 7})
    coordinator.post(f"/api/v1/incidents/{made[2]}/reject", json={"reason": "not here"})
    submitted = coordinator.get("/api/v1/incidents?status=submitted").get_json()["items"]
    assert [i["id"] for i in submitted] == [made[0], made[3], made[4]]
    verified = coordinator.get("/api/v1/incidents?status=verified").get_json()["items"]
    assert [(i["id"], i["award"]) for i in verified] == [(made[1], 7)]


def test_a_long_list_comes_page_by_page_in_the_same_order(coordinator, ledger, li):
    """Seven incidents, three urgent, read three at a time: each page continues where the
    last one ended, across the urgent ones into the others, and a status filter holds."""
    urgent = [n in (1, 4, 5) for n in range(7)]
    made = [
        ledger.submit_incident(li, "other", f"report {n}", urgent=u).id
        for n, u in enumerate(urgent)
    ]
    whole = [i["id"] for i in coordinator.get("/api/v1/incidents").get_json()["items"]]
    assert whole == [made[1], made[4], made[5], made[0], made[2], made[3], made[6]]

    def pages(query):
        seen, cursor, count = [], None, 0
        while True:
            path = f"/api/v1/incidents?limit=3{query}" + (f"&cursor={cursor}" if cursor else "")
            page = coordinator.get(path).get_json()
            assert len(page["items"]) <= 3
            seen += [i["id"] for i in page["items"]]
            count += 1
            cursor = page["next_cursor"]
            if cursor is None:
                return seen, count

    assert pages("") == (whole, 3)
    ledger.verify_incident(made[4], SETUP)
    ledger.verify_incident(made[0], SETUP)
    submitted, count = pages("&status=submitted")
    assert submitted == [made[1], made[5], made[2], made[3], made[6]] and count == 2
    exact = coordinator.get("/api/v1/incidents?limit=5&status=submitted").get_json()
    assert len(exact["items"]) == 5 and exact["next_cursor"] is None  # no empty last page

    for bad in ("limit=0", "limit=201", "limit=x", "cursor=abc", "cursor=2-5", "cursor=1-0",
                "cursor=1-5%0A", "cursor=1-" + "9" * 19):  # fmt: skip
        answer = coordinator.get(f"/api/v1/incidents?{bad}")
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), bad


# --- verifying ---------------------------------------------------------------------------


def test_a_coordinator_verifies_an_incident_and_the_reporter_earns_its_award(
    coordinator, ledger, li
):
    fire = ledger.submit_incident(li, "fire", "smoke").id
    answer = coordinator.post(f"/api/v1/incidents/{fire}/verify")  # no body: the default
    assert answer.status_code == 200
    assert answer.get_json() == {"id": fire, "status": "verified", "award": 10}
    assert ledger.get_balance(li) == 10

    chosen = ledger.submit_incident(li, "other", "a fallen tree").id
    answer = coordinator.post(f"/api/v1/incidents/{chosen}/verify", json={"award": 7})
    assert answer.get_json() == {"id": chosen, "status": "verified", "award": 7}
    assert ledger.get_balance(li) == 17

    again = coordinator.post(f"/api/v1/incidents/{fire}/verify", json={})
    assert (again.status_code, problem_code(again)) == (409, "invalid_state")
    assert ledger.get_balance(li) == 17


def test_an_award_must_be_a_whole_number_from_0_to_100(coordinator, ledger, li):
    incident = ledger.submit_incident(li, "fire", "smoke").id
    for award in (-1, 101, "5", 2.5, True):
        answer = coordinator.post(f"/api/v1/incidents/{incident}/verify", json={"award": award})
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), award
    unknown = coordinator.post(f"/api/v1/incidents/{incident}/verify", json={"bonus": 1})
    assert (unknown.status_code, problem_code(unknown)) == (422, "validation_error")
    assert ledger.get_incident(incident).status == "submitted"


def test_acting_on_an_unknown_incident_is_not_found(coordinator, ledger, li):
    for action, body in ACTIONS.items():
        for incident in (uuid4(), "not-an-id"):
            answer = coordinator.post(f"/api/v1/incidents/{incident}/{action}", json=body)
            assert (answer.status_code, problem_code(answer)) == (404, "not_found"), action


def test_only_a_coordinator_acts_on_incidents(sign_in, anonymous, ledger, li):
    incident = ledger.submit_incident(li, "fire", "smoke").id
    volunteer, auditor, admin = (
        sign_in("volunteer", account_id=li),
        sign_in("auditor"),
        sign_in("admin"),
    )
    for action, body in ACTIONS.items():
        path = f"/api/v1/incidents/{incident}/{action}"
        assert problem_code(anonymous.post(path, json=body)) == "unauthenticated"
        for client in (volunteer, auditor, admin):
            answer = client.post(path, json=body)
            assert (answer.status_code, problem_code(answer)) == (403, "forbidden"), action
    assert ledger.get_incident(incident).status == "submitted"


def test_a_coordinator_cannot_verify_their_own_report(coordinator_with_account, ledger, li):
    incident = ledger.submit_incident(li, "fire", "smoke").id
    herself = coordinator_with_account(li)
    answer = herself.post(f"/api/v1/incidents/{incident}/verify", json={})
    assert (answer.status_code, problem_code(answer)) == (403, "self_verification")
    assert ledger.get_balance(li) == 0


def test_verifying_past_the_daily_award_cap_is_refused_until_the_next_day(
    sign_in, coordinator, ledger, li, clock
):
    for n in range(2):
        done = ledger.submit_incident(li, "other", f"earlier report {n}").id
        ledger.verify_incident(done, SETUP, award=100)
    incident = ledger.submit_incident(li, "fire", "smoke").id

    answer = coordinator.post(f"/api/v1/incidents/{incident}/verify", json={})
    assert (answer.status_code, problem_code(answer)) == (422, "award_cap_exceeded")
    assert "李伟" in answer.get_json()["detail"]  # the message names the volunteer
    assert ledger.get_balance(li) == 200

    clock.advance(days=1)
    answer = sign_in("coordinator").post(f"/api/v1/incidents/{incident}/verify", json={})
    assert answer.get_json()["award"] == 10
    assert ledger.get_balance(li) == 210


def test_verifying_twice_with_one_idempotency_key_awards_once(coordinator, ledger, li):
    incident = ledger.submit_incident(li, "public_security", "a broken lock").id
    path = f"/api/v1/incidents/{incident}/verify"
    body = assert_replayed(coordinator, path, {"award": 6}, "verify-1")
    assert body == {"id": incident, "status": "verified", "award": 6}
    assert ledger.get_balance(li) == 6
    other = coordinator.post(path, json={"award": 7}, headers={"Idempotency-Key": "verify-1"})
    assert (other.status_code, problem_code(other)) == (422, "idempotency_key_reused")


# --- rejecting and duplicates ------------------------------------------------------------


def test_a_coordinator_rejects_an_incident_with_a_reason(coordinator, ledger, li):
    incident = ledger.submit_incident(li, "dispute", "a neighbour's dog").id
    path = f"/api/v1/incidents/{incident}/reject"
    for body in ({}, {"reason": ""}):
        answer = coordinator.post(path, json=body)
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error")

    answer = coordinator.post(path, json={"reason": "outside the community"})
    assert answer.status_code == 200
    assert answer.get_json() == {"id": incident, "status": "rejected"}
    assert ledger.get_incident(incident).reason == "outside the community"
    assert ledger.get_balance(li) == 0

    verify = coordinator.post(f"/api/v1/incidents/{incident}/verify", json={})
    assert (verify.status_code, problem_code(verify)) == (409, "invalid_state")


def test_a_coordinator_marks_a_duplicate_of_another_incident(coordinator, ledger, li):
    original = ledger.submit_incident(li, "fire", "smoke at building 3").id
    repeat = ledger.submit_incident(li, "fire", "smoke again at building 3").id

    itself = coordinator.post(f"/api/v1/incidents/{repeat}/duplicate", json={"of": repeat})
    assert (itself.status_code, problem_code(itself)) == (422, "validation_error")
    nowhere = coordinator.post(f"/api/v1/incidents/{repeat}/duplicate", json={"of": str(uuid4())})
    assert (nowhere.status_code, problem_code(nowhere)) == (404, "not_found")

    answer = coordinator.post(f"/api/v1/incidents/{repeat}/duplicate", json={"of": original})
    assert answer.status_code == 200
    assert answer.get_json() == {"id": repeat, "status": "duplicate"}
    assert ledger.get_incident(repeat).duplicate_of == original
    again = coordinator.post(f"/api/v1/incidents/{repeat}/duplicate", json={"of": original})
    assert (again.status_code, problem_code(again)) == (409, "invalid_state")


def test_reject_and_duplicate_replay_with_one_idempotency_key(coordinator, ledger, li):
    original, first, second = (
        ledger.submit_incident(li, "other", f"report {n}").id for n in range(3)
    )
    rejected = assert_replayed(
        coordinator, f"/api/v1/incidents/{first}/reject", {"reason": "no"}, "reject-1"
    )
    assert rejected == {"id": first, "status": "rejected"}
    duplicate = assert_replayed(
        coordinator, f"/api/v1/incidents/{second}/duplicate", {"of": original}, "dup-1"
    )
    assert duplicate == {"id": second, "status": "duplicate"}


# --- handlers and resolving --------------------------------------------------------------


def test_handlers_are_named_and_each_is_awarded_when_the_incident_is_resolved(
    coordinator, ledger, li
):
    wang, zhao = ledger.open_volunteer("王芳").id, ledger.open_volunteer("赵强").id
    incident = ledger.submit_incident(li, "resident_need", "an elderly man needs help").id
    handlers = f"/api/v1/incidents/{incident}/handlers"

    for body in ({"account_ids": []}, {"account_ids": "wang"}, {}):
        answer = coordinator.post(handlers, json=body)
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), body
    stranger = coordinator.post(handlers, json={"account_ids": [wang, str(uuid4())]})
    assert (stranger.status_code, problem_code(stranger)) == (404, "not_found")

    answer = coordinator.post(handlers, json={"account_ids": [wang, zhao, wang]})
    assert answer.status_code == 200
    assert answer.get_json() == {"id": incident, "handler_ids": [wang, zhao]}

    early = coordinator.post(f"/api/v1/incidents/{incident}/resolve", json={})
    assert (early.status_code, problem_code(early)) == (409, "invalid_state")  # not verified yet

    coordinator.post(f"/api/v1/incidents/{incident}/verify", json={})
    answer = coordinator.post(f"/api/v1/incidents/{incident}/resolve", json={})
    assert answer.status_code == 200
    assert answer.get_json() == {
        "id": incident,
        "status": "resolved",
        "handler_ids": [wang, zhao],
        "award_per_handler": 5,
        "awarded": 10,
    }
    assert [ledger.get_balance(a) for a in (li, wang, zhao)] == [2, 5, 5]

    late = coordinator.post(handlers, json={"account_ids": [li]})
    assert (late.status_code, problem_code(late)) == (409, "invalid_state")
    again = coordinator.post(f"/api/v1/incidents/{incident}/resolve", json={})
    assert (again.status_code, problem_code(again)) == (409, "invalid_state")


def test_a_coordinator_chooses_the_award_per_handler(coordinator, ledger, li):
    wang = ledger.open_volunteer("王芳").id
    incident = ledger.submit_incident(li, "fire", "smoke").id
    ledger.assign_handlers(incident, SETUP, [wang])
    ledger.verify_incident(incident, SETUP)
    path = f"/api/v1/incidents/{incident}/resolve"
    for award in (101, -1, "8"):
        answer = coordinator.post(path, json={"award_per_handler": award})
        assert (answer.status_code, problem_code(answer)) == (422, "validation_error"), award
    assert coordinator.post(path, json={"award_per_handler": 8}).status_code == 200
    assert ledger.get_balance(wang) == 8


def test_a_coordinator_who_handled_an_incident_cannot_resolve_it(
    coordinator_with_account, ledger, li
):
    wang = ledger.open_volunteer("王芳").id
    incident = ledger.submit_incident(li, "fire", "smoke").id
    ledger.assign_handlers(incident, SETUP, [wang])
    ledger.verify_incident(incident, SETUP)
    answer = coordinator_with_account(wang).post(f"/api/v1/incidents/{incident}/resolve", json={})
    assert (answer.status_code, problem_code(answer)) == (403, "self_verification")
    assert ledger.get_incident(incident).status == "verified"


def test_resolving_past_a_handlers_daily_cap_awards_nobody(sign_in, coordinator, ledger, li, clock):
    wang, zhao = ledger.open_volunteer("王芳").id, ledger.open_volunteer("赵强").id
    for n in range(2):
        earlier = ledger.submit_incident(zhao, "other", f"zhao's report {n}").id
        ledger.verify_incident(earlier, SETUP, award=100)
    incident = ledger.submit_incident(li, "fire", "smoke").id
    ledger.assign_handlers(incident, SETUP, [wang, zhao])
    ledger.verify_incident(incident, SETUP)
    path = f"/api/v1/incidents/{incident}/resolve"

    answer = coordinator.post(path, json={})
    assert (answer.status_code, problem_code(answer)) == (422, "award_cap_exceeded")
    assert "赵强" in answer.get_json()["detail"] and "王芳" not in answer.get_json()["detail"]
    assert [ledger.get_balance(a) for a in (wang, zhao)] == [0, 200]

    clock.advance(days=1)  # yesterday's session has expired too: sign in again
    assert sign_in("coordinator").post(path, json={}).status_code == 200
    assert [ledger.get_balance(a) for a in (wang, zhao)] == [5, 205]


def test_handlers_and_resolve_replay_with_one_idempotency_key(coordinator, ledger, li):
    wang = ledger.open_volunteer("王芳").id
    incident = ledger.submit_incident(li, "fire", "smoke").id
    named = assert_replayed(
        coordinator, f"/api/v1/incidents/{incident}/handlers", {"account_ids": [wang]}, "h-1"
    )
    assert named == {"id": incident, "handler_ids": [wang]}
    ledger.verify_incident(incident, SETUP)
    resolved = assert_replayed(coordinator, f"/api/v1/incidents/{incident}/resolve", {}, "r-1")
    assert resolved == {
        "id": incident,
        "status": "resolved",
        "handler_ids": [wang],
        "award_per_handler": 5,
        "awarded": 5,
    }
    assert ledger.get_balance(wang) == 5


def test_an_incident_without_handlers_is_resolved_only_with_no_award(coordinator, ledger, li):
    """Issue 14: resolving with no handlers said every handler was rewarded."""
    incident = ledger.submit_incident(li, "sanitation", "rubbish by the gate").id
    ledger.verify_incident(incident, SETUP)
    path = f"/api/v1/incidents/{incident}/resolve"
    before = ledger.recorder.max_notification_id()

    refused = coordinator.post(path, json={})
    assert (refused.status_code, problem_code(refused)) == (422, "no_handlers")
    both = coordinator.post(path, json={"no_award": True, "award_per_handler": 5})
    assert (both.status_code, problem_code(both)) == (422, "validation_error")
    assert ledger.recorder.max_notification_id() == before

    answer = coordinator.post(path, json={"no_award": True})
    assert answer.status_code == 200
    assert answer.get_json() == {
        "id": incident,
        "status": "resolved",
        "handler_ids": [],
        "award_per_handler": 0,
        "awarded": 0,
    }
