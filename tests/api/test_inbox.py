"""The inbox over the API (``/api/v1/me/notifications``) and on the pages (``/me`` for a
volunteer, ``/shop`` for a shop owner), and recognition over the API: a reporter reads
the outcome of a report and marks it read; nobody reads or marks another's notices."""

from __future__ import annotations

from datetime import timedelta

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
