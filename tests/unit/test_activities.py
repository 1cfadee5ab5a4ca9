"""Activities (SPEC §4): volunteers check in with the activity's code while it runs; the
coordinator confirms the attendance list, which awards each attendee once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger.errors import (
    ActivityNotRunning,
    AwardCapExceeded,
    CodeExpired,
    InvalidCode,
    NotFound,
    ValidationError,
)
from tests.scenario import Community

KUNMING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cleanup(community: Community):
    """Cleaning the river bank: Saturday 14 March, 09:00-11:00 in Kunming, 20 beans."""
    return community.ledger.create_activity(
        "Clean up the river bank",
        starts_at=community.local(2026, 3, 14, 9),
        ends_at=community.local(2026, 3, 14, 11),
        beans=20,
        by=community.coordinator,
    )


def check_in(community: Community, activity, volunteer_id: str):
    return community.ledger.check_in(activity.id, volunteer_id, activity.checkin_code)


# --- creating ---------------------------------------------------------------------------


def test_an_activity_is_created_with_a_check_in_code(community, cleanup):
    assert cleanup.title == "Clean up the river bank"
    assert cleanup.beans == 20
    assert cleanup.checkin_code.isdigit() and len(cleanup.checkin_code) == 13
    assert (cleanup.checked_in, cleanup.confirmed) == ([], [])


@pytest.mark.parametrize("minutes", [0, -30])
def test_an_activity_must_end_after_it_starts(community, minutes):
    starts = community.local(2026, 3, 14, 9)

    with pytest.raises(ValidationError):
        community.ledger.create_activity(
            "Backwards", starts, starts + timedelta(minutes=minutes), 20, community.coordinator
        )


def test_an_activity_needs_timezone_aware_times(community):
    with pytest.raises(ValidationError):
        community.ledger.create_activity(
            "Naive", datetime(2026, 3, 14, 9), datetime(2026, 3, 14, 11), 20, community.coordinator
        )


@pytest.mark.parametrize("beans", [101, -1])
def test_an_activity_awards_0_to_100_beans(community, beans):
    with pytest.raises(ValidationError):
        community.ledger.create_activity(
            "Too generous",
            community.local(2026, 3, 14, 9),
            community.local(2026, 3, 14, 11),
            beans,
            community.coordinator,
        )


# --- checking in ---------------------------------------------------------------------------


def test_volunteers_check_in_with_the_code_only_while_the_activity_runs(community, cleanup):
    li = community.volunteer("Li Wei")

    with pytest.raises(ActivityNotRunning):
        check_in(community, cleanup, li)  # Tuesday: too early

    community.move_to_local(2026, 3, 14, 8, 59)
    with pytest.raises(ActivityNotRunning):
        check_in(community, cleanup, li)

    community.move_to_local(2026, 3, 14, 9, 0)
    assert check_in(community, cleanup, li).new is True

    community.move_to_local(2026, 3, 14, 11, 1)
    with pytest.raises(ActivityNotRunning):
        check_in(community, cleanup, community.volunteer("Late Larry"))

    assert community.ledger.get_activity(cleanup.id).checked_in == [li]


def test_a_check_in_outside_the_times_is_an_expired_code(community, cleanup):
    with pytest.raises(CodeExpired):
        check_in(community, cleanup, community.volunteer("Li Wei"))


def test_times_given_in_local_time_work_the_same(community):
    tea = community.ledger.create_activity(
        "Tea with the elderly",
        starts_at=datetime(2026, 3, 14, 15, 0, tzinfo=KUNMING),
        ends_at=datetime(2026, 3, 14, 17, 0, tzinfo=KUNMING),
        beans=10,
        by=community.coordinator,
    )
    li = community.volunteer("Li Wei")

    community.move_to_local(2026, 3, 14, 14, 59)
    with pytest.raises(ActivityNotRunning):
        check_in(community, tea, li)
    community.move_to_local(2026, 3, 14, 16)
    assert check_in(community, tea, li).new is True


def test_the_code_of_another_activity_is_refused(community, cleanup):
    other = community.ledger.create_activity(
        "Library shelving",
        community.local(2026, 3, 14, 9),
        community.local(2026, 3, 14, 12),
        5,
        community.coordinator,
    )
    li = community.volunteer("Li Wei")
    community.move_to_local(2026, 3, 14, 10)

    with pytest.raises(InvalidCode):
        community.ledger.check_in(cleanup.id, li, other.checkin_code)


@pytest.mark.parametrize("code", ["12345", "not a code", ""])
def test_a_malformed_code_is_refused(community, cleanup, code):
    community.move_to_local(2026, 3, 14, 10)

    with pytest.raises(InvalidCode):
        community.ledger.check_in(cleanup.id, community.volunteer("Li Wei"), code)


def test_a_mistyped_code_is_refused_by_its_check_digit(community, cleanup):
    community.move_to_local(2026, 3, 14, 10)
    code = cleanup.checkin_code
    mistyped = code[:-2] + str((int(code[-2]) + 1) % 10) + code[-1]

    with pytest.raises(InvalidCode):
        community.ledger.check_in(cleanup.id, community.volunteer("Li Wei"), mistyped)


def test_checking_in_twice_is_harmless(community, cleanup):
    li = community.volunteer("Li Wei")
    community.move_to_local(2026, 3, 14, 9, 30)

    first, again = check_in(community, cleanup, li), check_in(community, cleanup, li)

    assert (first.new, again.new) == (True, False)
    assert community.ledger.get_activity(cleanup.id).checked_in == [li]


def test_only_volunteers_check_in(community, cleanup):
    community.move_to_local(2026, 3, 14, 9, 30)

    with pytest.raises(NotFound):
        check_in(community, cleanup, community.beneficiary("Granny Zhao"))


# --- confirming -----------------------------------------------------------------------------


def test_confirming_awards_each_attendee_once(community, cleanup):
    li, wang, zhou = (community.volunteer(n) for n in ("Li Wei", "Wang Fang", "Zhou Min"))
    community.move_to_local(2026, 3, 14, 9, 10)
    for volunteer in (li, wang, zhou):
        check_in(community, cleanup, volunteer)
    check_in(community, cleanup, li)  # Li scans again on the way out
    community.move_to_local(2026, 3, 14, 11, 30)

    confirmation = community.ledger.confirm_attendance(cleanup.id, community.coordinator)

    assert confirmation.awarded == 3
    assert sorted(confirmation.account_ids) == sorted([li, wang, zhou])
    assert [community.balance(v) for v in (li, wang, zhou)] == [20, 20, 20]
    assert community.outstanding == 60

    again = community.ledger.confirm_attendance(cleanup.id, community.coordinator)

    assert again.awarded == 0
    assert [community.balance(v) for v in (li, wang, zhou)] == [20, 20, 20]
    assert community.check_books().issued == 60


def test_the_coordinator_may_confirm_some_attendees_now_and_others_later(community, cleanup):
    li, wang, zhou = (community.volunteer(n) for n in ("Li Wei", "Wang Fang", "Zhou Min"))
    community.move_to_local(2026, 3, 14, 10)
    for volunteer in (li, wang, zhou):
        check_in(community, cleanup, volunteer)

    first = community.ledger.confirm_attendance(cleanup.id, community.coordinator, [li, wang])
    assert first.awarded == 2
    assert [community.balance(v) for v in (li, wang, zhou)] == [20, 20, 0]

    # Naming Li again with Zhou awards only Zhou.
    later = community.ledger.confirm_attendance(cleanup.id, community.coordinator, [li, zhou])
    assert (later.awarded, later.account_ids) == (1, [zhou])
    assert [community.balance(v) for v in (li, wang, zhou)] == [20, 20, 20]
    community.check_books()


def test_someone_who_did_not_check_in_cannot_be_confirmed(community, cleanup):
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    community.move_to_local(2026, 3, 14, 10)
    check_in(community, cleanup, li)

    with pytest.raises(ValidationError):
        community.ledger.confirm_attendance(cleanup.id, community.coordinator, [li, wang])

    assert (community.balance(li), community.balance(wang)) == (0, 0)
    assert community.ledger.get_activity(cleanup.id).confirmed == []


def test_confirming_an_activity_nobody_attended_awards_nobody(community, cleanup):
    community.move_to_local(2026, 3, 14, 12)

    assert community.ledger.confirm_attendance(cleanup.id, community.coordinator).awarded == 0
    assert community.outstanding == 0


def test_the_award_cap_applies_to_attendance_and_then_nobody_is_awarded(community, cleanup):
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    community.move_to_local(2026, 3, 14, 9, 5)
    check_in(community, cleanup, li)
    check_in(community, cleanup, wang)
    community.earn(wang, 190)  # a busy Saturday for Wang

    with pytest.raises(AwardCapExceeded) as refused:
        community.ledger.confirm_attendance(cleanup.id, community.coordinator)

    assert "Wang Fang" in str(refused.value) and "Li Wei" not in str(refused.value)
    assert (community.balance(li), community.balance(wang)) == (0, 190)
    assert community.ledger.get_activity(cleanup.id).confirmed == []

    # Confirmed on Sunday, the award falls on a day Wang has not earned anything.
    community.move_to_local(2026, 3, 15, 9)
    assert community.ledger.confirm_attendance(cleanup.id, community.coordinator).awarded == 2
    assert (community.balance(li), community.balance(wang)) == (20, 210)
    community.check_books()
