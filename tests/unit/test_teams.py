"""Teams and grids (issue 18): coordinators create them and name leaders and heads; a team
leader confirms attendance at the team's activities and checks members without phones in
by number, never for themselves and never for another team; incidents carry a grid.

The attacker tests try what a volunteer with a leader's login would try."""

from __future__ import annotations

import json

import pytest

from ledger.errors import (
    ActivityNotRunning,
    InvalidCode,
    InvalidState,
    NotFound,
    NotTeamLeader,
    SelfVerification,
    ValidationError,
)
from ledger.people import MemberRecord
from ledger.views import Actor
from tests.scenario import Community


@pytest.fixture
def red_hats(community: Community):
    """安全小红帽 led by 王芳, with 李明 and 张伟 as members (by their records' labels)."""
    ledger = community.ledger
    people = {name: community.volunteer(name) for name in ("王芳", "李明", "张伟")}
    for person in people.values():
        ledger.set_member_record(person, MemberRecord(teams=("安全小红帽",), grid="一网格"))
    team = ledger.create_team("安全小红帽", community.coordinator)
    ledger.appoint_leader(team.id, people["王芳"], community.coordinator)
    return team, people


def running_activity(community: Community, team_id: str | None, beans: int = 10):
    return community.ledger.create_activity(
        "巡逻",
        starts_at=community.now - _minutes(10),
        ends_at=community.now + _minutes(120),
        beans=beans,
        by=community.coordinator,
        team_id=team_id,
    )


def _minutes(n: int):
    from datetime import timedelta

    return timedelta(minutes=n)


def leader_actor(account_id: str) -> Actor:
    return Actor("wangfang", account_id)


def events_of(community: Community) -> list[tuple[str, dict]]:
    log = community.ledger.read_log(0, 10_000)
    return [(e.topic.rsplit(":", 1)[1], json.loads(e.state)) for e in log]


# --- creating teams and grids --------------------------------------------------------------


def test_a_team_is_created_once_by_name_and_its_leader_is_on_the_record(community, red_hats):
    team, people = red_hats
    assert team.name == "安全小红帽"
    assert community.ledger.get_team(team.id).leader_ids == [people["王芳"]]
    with pytest.raises(InvalidState):
        community.ledger.create_team(" 安全小红帽 ", community.coordinator)
    appointed = [d for name, d in events_of(community) if name == "Team.LeaderAppointed"]
    assert appointed == [
        {**appointed[0], "account_id": people["王芳"], "by": "coord-1"}
    ]  # who leads and who named them: in the log


def test_the_log_names_no_member_of_a_team(community, red_hats):
    team, people = red_hats
    everything = json.dumps(events_of(community), ensure_ascii=False)
    teams = json.dumps([e for e in events_of(community) if e[0].startswith("Team.")])
    assert "李明" not in everything  # names and labels stay beside the log
    assert people["李明"] not in teams and people["王芳"] in teams  # the leader only


def test_only_a_volunteer_leads_a_team(community, red_hats):
    team, _ = red_hats
    elder = community.beneficiary("老赵")
    with pytest.raises(NotFound):
        community.ledger.appoint_leader(team.id, elder, community.coordinator)


def test_a_removed_leader_leads_no_more(community, red_hats):
    team, people = red_hats
    community.ledger.remove_leader(team.id, people["王芳"], community.coordinator)
    assert community.ledger.teams_led_by(people["王芳"]) == []


def test_names_are_checked(community):
    with pytest.raises(ValidationError):
        community.ledger.create_team("队" * 41, community.coordinator)
    with pytest.raises(ValidationError):
        community.ledger.create_grid("  ", community.coordinator)


# --- a leader confirms their team's attendance -----------------------------------------------


def test_a_leader_confirms_the_teams_attendance(community, red_hats):
    team, people = red_hats
    activity = running_activity(community, team.id)
    for name in ("李明", "张伟"):
        community.ledger.check_in(activity.id, people[name], activity.checkin_code)

    done = community.ledger.confirm_attendance(
        activity.id, leader_actor(people["王芳"]), as_leader=True
    )

    assert done.awarded == 2
    assert community.balance(people["李明"]) == 10
    confirmed = [d for name, d in events_of(community) if name.startswith("Activity.Attendance")]
    assert confirmed[0]["leader_id"] == people["王芳"]


def test_a_leader_cannot_confirm_their_own_attendance(community, red_hats):
    team, people = red_hats
    activity = running_activity(community, team.id)
    community.ledger.check_in(activity.id, people["王芳"], activity.checkin_code)
    community.ledger.check_in(activity.id, people["李明"], activity.checkin_code)

    with pytest.raises(SelfVerification):
        community.ledger.confirm_attendance(
            activity.id, leader_actor(people["王芳"]), [people["王芳"]], as_leader=True
        )
    with pytest.raises(SelfVerification):  # "everyone" includes the leader: refused whole
        community.ledger.confirm_attendance(
            activity.id, leader_actor(people["王芳"]), as_leader=True
        )
    assert community.balance(people["王芳"]) == 0 and community.balance(people["李明"]) == 0
    # another leader of the team, or a coordinator, confirms the leader's attendance
    community.ledger.confirm_attendance(activity.id, community.coordinator, [people["王芳"]])
    assert community.balance(people["王芳"]) == 10


def test_a_leader_cannot_confirm_another_teams_activity(community, red_hats):
    team, people = red_hats
    other = community.ledger.create_team("巾帼志愿队", community.coordinator)
    theirs = running_activity(community, other.id)
    community.ledger.check_in(theirs.id, people["李明"], theirs.checkin_code)

    with pytest.raises(NotTeamLeader):
        community.ledger.confirm_attendance(theirs.id, leader_actor(people["王芳"]), as_leader=True)
    nobodys = running_activity(community, None)
    community.ledger.check_in(nobodys.id, people["李明"], nobodys.checkin_code)
    with pytest.raises(NotTeamLeader):
        community.ledger.confirm_attendance(
            nobodys.id, leader_actor(people["王芳"]), as_leader=True
        )
    assert community.balance(people["李明"]) == 0


def test_a_leader_without_an_account_or_removed_is_refused(community, red_hats):
    team, people = red_hats
    activity = running_activity(community, team.id)
    community.ledger.check_in(activity.id, people["李明"], activity.checkin_code)
    with pytest.raises(NotTeamLeader):
        community.ledger.confirm_attendance(activity.id, Actor("nobody"), as_leader=True)
    with pytest.raises(NotTeamLeader):  # a member who is no leader
        community.ledger.confirm_attendance(
            activity.id, leader_actor(people["张伟"]), as_leader=True
        )


def test_the_award_cap_binds_a_leaders_confirmation(community, red_hats):
    team, people = red_hats
    community.earn(people["李明"], 195)
    activity = running_activity(community, team.id, beans=10)
    community.ledger.check_in(activity.id, people["李明"], activity.checkin_code)
    from ledger.errors import AwardCapExceeded

    with pytest.raises(AwardCapExceeded):
        community.ledger.confirm_attendance(
            activity.id, leader_actor(people["王芳"]), as_leader=True
        )


# --- people without phones ---------------------------------------------------------------


def number_of(community: Community, account_id: str) -> str:
    return community.ledger.get_account(account_id).number or ""


def test_a_leader_checks_a_member_in_by_number_once(community, red_hats):
    team, people = red_hats
    activity = running_activity(community, team.id)
    number = number_of(community, people["张伟"])

    first = community.ledger.check_in_by_number(
        activity.id, number, leader_actor(people["王芳"]), as_leader=True
    )
    again = community.ledger.check_in_by_number(
        activity.id, f" {number[:4]} {number[4:]} ", leader_actor(people["王芳"]), as_leader=True
    )

    assert first.new and not again.new
    manual = [d for name, d in events_of(community) if name == "Activity.CheckedInManually"]
    assert len(manual) == 1 and manual[0]["leader_id"] == people["王芳"] and manual[0]["by"] is None
    assert number not in json.dumps(manual)
    community.ledger.confirm_attendance(activity.id, community.coordinator)
    assert community.balance(people["张伟"]) == 10


def test_a_leader_cannot_check_themselves_in_by_number(community, red_hats):
    team, people = red_hats
    activity = running_activity(community, team.id)
    with pytest.raises(SelfVerification):
        community.ledger.check_in_by_number(
            activity.id,
            number_of(community, people["王芳"]),
            leader_actor(people["王芳"]),
            as_leader=True,
        )


def test_a_leader_cannot_check_in_at_another_teams_activity(community, red_hats):
    team, people = red_hats
    other = community.ledger.create_team("巾帼志愿队", community.coordinator)
    theirs = running_activity(community, other.id)
    with pytest.raises(NotTeamLeader):
        community.ledger.check_in_by_number(
            theirs.id,
            number_of(community, people["张伟"]),
            leader_actor(people["王芳"]),
            as_leader=True,
        )


def test_a_coordinator_checks_in_by_number_as_the_staff_user(community, red_hats):
    _, people = red_hats
    activity = running_activity(community, None)
    community.ledger.check_in_by_number(
        activity.id, number_of(community, people["李明"]), community.coordinator
    )
    manual = [d for name, d in events_of(community) if name == "Activity.CheckedInManually"]
    assert manual[0]["by"] == "coord-1" and manual[0]["leader_id"] is None


def test_unknown_numbers_cards_of_residents_and_closed_activities_are_refused(community, red_hats):
    team, people = red_hats
    activity = running_activity(community, team.id)
    with pytest.raises(InvalidCode):
        community.ledger.check_in_by_number(activity.id, "12345678", community.coordinator)
    with pytest.raises(ValidationError):
        community.ledger.check_in_by_number(activity.id, "abc", community.coordinator)
    elder = community.beneficiary("老赵")
    card = community.card(elder)
    with pytest.raises(ValidationError):
        community.ledger.check_in_by_number(activity.id, card, community.coordinator)
    community.advance(hours=3)
    with pytest.raises(ActivityNotRunning):
        community.ledger.check_in_by_number(
            activity.id, number_of(community, people["李明"]), community.coordinator
        )


# --- grids -------------------------------------------------------------------------------


def test_an_incident_goes_to_the_grid_chosen_or_the_reporters_own(community, red_hats):
    _, people = red_hats
    first = community.ledger.create_grid("一网格", community.coordinator)
    second = community.ledger.create_grid("二网格", community.coordinator)

    own = community.ledger.submit_incident(people["李明"], "fire", "smoke")
    chosen = community.ledger.submit_incident(people["李明"], "dispute", "noise", grid_id=second.id)
    stranger = community.volunteer("路人")
    none = community.ledger.submit_incident(stranger, "other", "a cat")

    assert (own.grid_id, chosen.grid_id, none.grid_id) == (first.id, second.id, None)
    assert community.ledger.get_grid(first.id).incident_ids == [own.id]
    assert community.ledger.get_grid(second.id).incident_ids == [chosen.id]
    with pytest.raises(NotFound):
        community.ledger.submit_incident(people["李明"], "fire", "x", grid_id="no-such")


def test_a_coordinator_moves_an_incident_to_another_grid(community, red_hats):
    _, people = red_hats
    first = community.ledger.create_grid("一网格", community.coordinator)
    second = community.ledger.create_grid("二网格", community.coordinator)
    report = community.ledger.submit_incident(people["李明"], "fire", "smoke")
    community.ledger.place_incident(report.id, second.id, community.coordinator)
    assert community.ledger.get_grid(first.id).incident_ids == []
    assert community.ledger.get_grid(second.id).incident_ids == [report.id]


def test_grid_heads_are_on_the_record(community, red_hats):
    _, people = red_hats
    grid = community.ledger.create_grid("一网格", community.coordinator)
    community.ledger.appoint_head(grid.id, people["张伟"], community.coordinator)
    assert [g.name for g in community.ledger.grids_headed_by(people["张伟"])] == ["一网格"]
    assert community.ledger.grids_headed_by(people["李明"]) == []
    community.ledger.remove_head(grid.id, people["张伟"], community.coordinator)
    assert community.ledger.grids_headed_by(people["张伟"]) == []


def test_the_books_still_verify_with_teams_and_grids(community, red_hats):
    team, people = red_hats
    activity = running_activity(community, team.id)
    community.ledger.check_in_by_number(
        activity.id, number_of(community, people["张伟"]), community.coordinator
    )
    community.ledger.confirm_attendance(activity.id, leader_actor(people["王芳"]), as_leader=True)
    community.check_books()
