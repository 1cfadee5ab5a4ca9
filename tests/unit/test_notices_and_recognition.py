"""What each event tells whom (projections/notices.py), and what a volunteer has given
(projections/recognition.py): worked stories on a community in memory, read back from
the read tables as the pages read them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.context import make_runner
from api.store import Store
from projections import notice_queries, recognition_queries
from projections.recognition import STAR_HOURS, next_star_hours, quarter_of_month, stars
from tests.scenario import Community


@pytest.fixture
def store():
    store = Store("memory://")
    store.create_tables()
    yield store
    store.close()


def told(store: Store, community: Community, recipient: str) -> list[dict]:
    """The recipient's notices, oldest first, after catching up."""
    make_runner(store, community.ledger).catch_up()
    with store.read() as conn:
        items, _ = notice_queries.notices(conn, recipient, 100)
    return list(reversed(items))


def totals(store: Store, community: Community, account_id: str) -> dict:
    make_runner(store, community.ledger).catch_up()
    with store.read() as conn:
        return recognition_queries.volunteer_totals(conn, account_id)


# --- notices: each event, whom, what ------------------------------------------------------


def test_a_reporter_learns_that_the_report_was_verified_and_the_award(community, store) -> None:
    li = community.volunteer("Li Wei")
    incident = community.ledger.submit_incident(li, "fire", "smoke in the stairwell")
    assert told(store, community, li) == [], "a report alone tells nobody"
    community.ledger.verify_incident(incident.id, community.coordinator, award=12)
    (notice,) = told(store, community, li)
    assert notice["kind"] == "report_verified"
    assert notice["subject_id"] == incident.id
    assert notice["data"] == {"category": "fire", "award": 12}
    assert notice["read"] is False


def test_a_reporter_learns_the_reason_of_a_rejection(community, store) -> None:
    li = community.volunteer("Li Wei")
    incident = community.ledger.submit_incident(li, "other", "a loud dog")
    community.ledger.reject_incident(incident.id, community.coordinator, "Not an incident")
    (notice,) = told(store, community, li)
    assert (notice["kind"], notice["data"]["reason"]) == ("report_rejected", "Not an incident")


def test_a_reporter_learns_of_a_duplicate_and_of_the_resolution(community, store) -> None:
    li, wang, zhao = (community.volunteer(n) for n in ("Li Wei", "Wang Fang", "Zhao Lei"))
    first = community.ledger.submit_incident(wang, "sanitation", "rubbish by the gate")
    second = community.ledger.submit_incident(li, "sanitation", "rubbish at the gate")
    community.ledger.mark_duplicate(second.id, community.coordinator, first.id)
    assert [(n["kind"], n["data"]["of"]) for n in told(store, community, li)] == [
        ("report_duplicate", first.id)
    ]
    community.ledger.verify_incident(first.id, community.coordinator)
    community.ledger.assign_handlers(first.id, community.coordinator, [zhao])
    community.ledger.resolve_incident(first.id, community.coordinator, award_per_handler=4)
    assert [n["kind"] for n in told(store, community, wang)] == [
        "report_verified",
        "report_resolved",
    ]
    assert [(n["kind"], n["data"].get("award")) for n in told(store, community, zhao)] == [
        ("handler_assigned", None),
        ("handling_resolved", 4),
    ]


def test_a_reporter_who_also_handled_it_is_told_both_things(community, store) -> None:
    """One event, one person, two notices: each has an id of its own."""
    li = community.volunteer("Li Wei")
    incident = community.ledger.submit_incident(li, "dispute", "neighbours quarrel")
    community.ledger.assign_handlers(incident.id, community.coordinator, [li])
    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.resolve_incident(incident.id, community.coordinator, award_per_handler=5)
    notices = told(store, community, li)
    kinds = [n["kind"] for n in notices]
    assert kinds[:2] == ["handler_assigned", "report_verified"]
    assert sorted(kinds[2:]) == ["handling_resolved", "report_resolved"], "one event, both"
    assert len({n["id"] for n in notices}) == 4


def test_a_handler_is_told_once_when_more_handlers_are_named(community, store) -> None:
    li, wang, zhao = (community.volunteer(n) for n in ("Li Wei", "Wang Fang", "Zhao Lei"))
    incident = community.ledger.submit_incident(li, "dispute", "neighbours quarrel")
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang])
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang, zhao])
    assert [n["kind"] for n in told(store, community, wang)] == ["handler_assigned"]
    assert [n["data"]["category"] for n in told(store, community, zhao)] == ["dispute"]
    assert told(store, community, li) == []


def test_a_shop_learns_that_its_settlement_line_was_paid(community, store) -> None:
    li = community.volunteer("Li Wei")
    shop = community.merchant("Corner Grocery", rebate_bps=1000)
    community.earn(li, 30)
    community.spend(li, shop, 20)
    community.donate(1_000_000)
    community.move_to_local(2026, 4, 2)
    settlement = community.settle()
    (notice,) = told(store, community, shop)
    assert notice["kind"] == "line_paid"
    assert notice["subject_id"] == settlement.id
    assert notice["data"] == {
        "period": settlement.period,
        "beans": 20,
        "cash_fen": 2000,
        "rebate_fen": 200,
        "payment_ref": f"BANK-{settlement.period}-1",
    }
    assert [n["kind"] for n in told(store, community, li)] == ["report_verified"]


def test_marking_read_counts_down_and_concerns_only_the_recipient(community, store) -> None:
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    for _ in range(3):
        community.earn(li, 1)
    notices = told(store, community, li)
    now = community.now
    with store.write() as conn:
        assert notice_queries.unread_count(conn, li) == 3
        assert not notice_queries.mark_read(conn, wang, notices[0]["id"], now), "not Wang's"
        assert notice_queries.mark_read(conn, li, notices[0]["id"], now)
        assert notice_queries.mark_read(conn, li, notices[0]["id"], now), "again: harmless"
        assert notice_queries.unread_count(conn, li) == 2
        assert notice_queries.mark_all_read(conn, li, now) == 2
        assert notice_queries.unread_count(conn, li) == 0


def test_a_rebuild_keeps_the_ids_and_what_was_read(community, store) -> None:
    li = community.volunteer("Li Wei")
    community.earn(li, 5)
    (before,) = told(store, community, li)
    with store.write() as conn:
        notice_queries.mark_read(conn, li, before["id"], community.now)
    make_runner(store, community.ledger).rebuild()
    (after,) = told(store, community, li)
    assert after["id"] == before["id"]
    assert after["read"] is True


# --- recognition --------------------------------------------------------------------------


def test_lifetime_beans_by_kind_and_service_hours(community, store) -> None:
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    community.earn(li, 10)  # a verified report
    incident = community.ledger.submit_incident(wang, "fire", "smoke")
    community.ledger.verify_incident(incident.id, community.coordinator, award=3)
    community.ledger.assign_handlers(incident.id, community.coordinator, [li])
    community.ledger.resolve_incident(incident.id, community.coordinator, award_per_handler=5)
    start = community.now + timedelta(minutes=5)
    activity = community.ledger.create_activity(
        "Park clean-up", start, start + timedelta(hours=2, minutes=30), 4, community.coordinator
    )
    community.advance(minutes=10)
    community.ledger.check_in(activity.id, li, activity.checkin_code)
    community.ledger.check_in(activity.id, wang, activity.checkin_code)
    community.ledger.confirm_attendance(activity.id, community.coordinator, [li])
    mine = totals(store, community, li)
    assert (mine["incident_awards"], mine["handling_awards"], mine["activity_awards"]) == (10, 5, 4)
    assert (mine["earned"], mine["net"]) == (19, 19)
    assert (mine["minutes"], mine["hours"], mine["attendances"]) == (150, 2, 1)
    theirs = totals(store, community, wang)
    assert (theirs["incident_awards"], theirs["minutes"]) == (3, 0), "checked in, not confirmed"


def test_a_corrected_award_counts_against_the_net_not_the_hours(community, store) -> None:
    li = community.volunteer("Li Wei")
    (incident_id,) = community.earn(li, 10)
    community.ledger.correct(
        li, 4, "award typed too high", community.coordinator, corrects=incident_id
    )
    mine = totals(store, community, li)
    assert (mine["earned"], mine["corrected"], mine["net"]) == (10, 4, 6)


def test_stars_follow_the_stated_thresholds() -> None:
    assert STAR_HOURS == (100, 300, 600, 1000, 1500)
    assert [stars(h * 60) for h in (0, 99, 100, 299, 300, 600, 1000, 1499, 1500, 5000)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        4,
        4,
        5,
        5,
    ]
    assert (next_star_hours(0), next_star_hours(100 * 60), next_star_hours(1500 * 60)) == (
        100,
        300,
        None,
    )
    assert [quarter_of_month(p) for p in ("2026-01", "2026-03", "2026-04", "2026-12")] == [
        "2026-Q1",
        "2026-Q1",
        "2026-Q2",
        "2026-Q4",
    ]


def test_the_honours_list_of_a_quarter(community, store) -> None:
    li, wang, zhao = (community.volunteer(n) for n in ("Li Wei", "Wang Fang", "Zhao Lei"))
    community.ledger.set_leaderboard_opt_in(li, True)
    community.earn(li, 30)
    community.earn(wang, 50)
    start = community.now + timedelta(minutes=1)
    activity = community.ledger.create_activity(
        "Night patrol", start, start + timedelta(hours=3), 0, community.coordinator
    )
    community.advance(minutes=2)
    community.ledger.check_in(activity.id, zhao, activity.checkin_code)
    community.ledger.confirm_attendance(activity.id, community.coordinator)
    community.move_to_local(2026, 4, 1)
    community.earn(zhao, 99)  # the next quarter
    make_runner(store, community.ledger).catch_up()
    with store.read() as conn:
        assert recognition_queries.quarters(conn) == ["2026-Q2", "2026-Q1"]
        honours = recognition_queries.honours(conn, "2026-Q1")
    assert [(r["display_name"], r["net"], r["opt_in"]) for r in honours["by_beans"]] == [
        ("Wang Fang", 50, False),
        ("Li Wei", 30, True),
    ]
    assert [(r["display_name"], r["hours"]) for r in honours["by_hours"]] == [("Zhao Lei", 3)]
    assert (honours["volunteers"], honours["beans"], honours["hours"]) == (3, 80, 3)


def test_a_team_leader_s_confirmation_counts_hours_as_a_coordinator_s(community, store) -> None:
    from ledger.people import MemberRecord
    from ledger.views import Actor

    ledger = community.ledger
    leader, member = community.volunteer("王芳"), community.volunteer("李明")
    for person in (leader, member):
        ledger.set_member_record(person, MemberRecord(teams=("安全小红帽",)))
    team = ledger.create_team("安全小红帽", community.coordinator)
    ledger.appoint_leader(team.id, leader, community.coordinator)
    activity = ledger.create_activity(
        "巡逻",
        starts_at=community.now - timedelta(minutes=10),
        ends_at=community.now + timedelta(minutes=80),
        beans=6,
        by=community.coordinator,
        team_id=team.id,
    )
    ledger.check_in(activity.id, member, activity.checkin_code)
    ledger.confirm_attendance(activity.id, Actor("wangfang", leader), as_leader=True)
    mine = totals(store, community, member)
    assert (mine["activity_awards"], mine["minutes"], mine["attendances"]) == (6, 90, 1)
