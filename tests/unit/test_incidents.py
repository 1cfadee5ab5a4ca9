"""Incidents (SPEC §3–§4): a volunteer reports, a coordinator verifies (the reporter is
awarded), rejects or marks a duplicate (nobody is awarded); handlers are awarded when the
incident is resolved; four eyes and the daily award cap of 200 beans hold throughout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.errors import (
    AwardCapExceeded,
    InvalidState,
    NotFound,
    SelfVerification,
    ValidationError,
)
from ledger.views import Actor
from tests.scenario import Community


@pytest.fixture
def li(community: Community) -> str:
    return community.volunteer("Li Wei")


def report(community: Community, reporter: str, category: str = "sanitation", **kw):
    return community.ledger.submit_incident(reporter, category, "rubbish piled by gate 3", **kw)


# --- submitting -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "category", ["fire", "public_security", "dispute", "sanitation", "resident_need", "other"]
)
def test_a_volunteer_reports_an_incident_of_any_category_and_it_waits(community, li, category):
    incident = report(community, li, category)

    assert (incident.status, incident.category, incident.reporter_id) == ("submitted", category, li)
    assert incident.award is None
    assert community.balance(li) == 0


def test_an_urgent_report_is_flagged_and_keeps_its_location(community, li):
    incident = report(community, li, "fire", urgent=True, location="Building 7, stairwell")

    assert incident.urgent is True
    assert incident.location == "Building 7, stairwell"
    assert report(community, li).urgent is False


def test_an_unknown_category_is_refused(community, li):
    with pytest.raises(ValidationError):
        report(community, li, "noise")


@pytest.mark.parametrize("description", ["", "   "])
def test_a_report_without_a_description_is_refused(community, li, description):
    with pytest.raises(ValidationError):
        community.ledger.submit_incident(li, "fire", description)


def test_only_a_volunteer_can_report(community):
    gran = community.beneficiary("Granny Zhao")
    with pytest.raises(NotFound):
        report(community, gran)


# --- verifying --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "award"),
    [
        ("fire", 10),
        ("public_security", 5),
        ("dispute", 3),
        ("sanitation", 2),
        ("resident_need", 2),
        ("other", 1),
    ],
)
def test_verifying_awards_the_reporter_the_category_award(community, li, category, award):
    incident = report(community, li, category)

    verified = community.ledger.verify_incident(incident.id, community.coordinator)

    assert (verified.status, verified.award) == ("verified", award)
    assert community.balance(li) == award
    assert community.outstanding == award
    community.check_books()


@pytest.mark.parametrize("award", [1, 42, 100])
def test_the_coordinator_may_choose_another_award_up_to_100(community, li, award):
    incident = report(community, li, "other")

    verified = community.ledger.verify_incident(incident.id, community.coordinator, award=award)

    assert verified.award == award
    assert community.balance(li) == award
    community.check_books()


@pytest.mark.parametrize("award", [101, -1])
def test_an_award_outside_0_to_100_is_refused_and_the_incident_waits(community, li, award):
    incident = report(community, li, "fire")

    with pytest.raises(ValidationError):
        community.ledger.verify_incident(incident.id, community.coordinator, award=award)

    assert community.ledger.get_incident(incident.id).status == "submitted"
    assert community.balance(li) == 0


def test_an_award_of_0_verifies_the_incident_and_moves_no_beans(community, li):
    incident = report(community, li, "fire")

    verified = community.ledger.verify_incident(incident.id, community.coordinator, award=0)

    assert (verified.status, verified.award) == ("verified", 0)
    assert community.balance(li) == 0
    assert community.outstanding == 0
    assert community.check_books().issued == 0


def test_an_incident_is_verified_and_awarded_only_once(community, li):
    incident = report(community, li, "fire")
    community.ledger.verify_incident(incident.id, community.coordinator)

    with pytest.raises(InvalidState):
        community.ledger.verify_incident(incident.id, Actor("coord-2"))

    assert community.balance(li) == 10
    community.check_books()


# --- rejecting and duplicates ----------------------------------------------------------


def test_a_rejected_report_keeps_its_reason_and_earns_nothing(community, li):
    incident = report(community, li, "fire")

    rejected = community.ledger.reject_incident(incident.id, community.coordinator, "no smoke")

    assert (rejected.status, rejected.reason) == ("rejected", "no smoke")
    assert community.balance(li) == 0
    with pytest.raises(InvalidState):
        community.ledger.verify_incident(incident.id, community.coordinator)
    assert community.balance(li) == 0
    community.check_books()


@pytest.mark.parametrize("reason", ["", "  "])
def test_a_rejection_needs_a_reason(community, li, reason):
    incident = report(community, li, "fire")

    with pytest.raises(ValidationError):
        community.ledger.reject_incident(incident.id, community.coordinator, reason)

    assert community.ledger.get_incident(incident.id).status == "submitted"


def test_a_second_report_of_the_same_fire_is_a_duplicate_and_earns_nothing(community, li):
    wang = community.volunteer("Wang Fang")
    first = report(community, li, "fire")
    second = report(community, wang, "fire")
    community.ledger.verify_incident(first.id, community.coordinator)

    duplicate = community.ledger.mark_duplicate(second.id, community.coordinator, of=first.id)

    assert (duplicate.status, duplicate.duplicate_of) == ("duplicate", first.id)
    assert (community.balance(li), community.balance(wang)) == (10, 0)
    with pytest.raises(InvalidState):
        community.ledger.verify_incident(second.id, community.coordinator)
    community.check_books()


def test_an_incident_cannot_duplicate_itself(community, li):
    incident = report(community, li)

    with pytest.raises(ValidationError):
        community.ledger.mark_duplicate(incident.id, community.coordinator, of=incident.id)

    assert community.ledger.get_incident(incident.id).status == "submitted"


def test_an_incident_cannot_duplicate_one_that_does_not_exist(community, li):
    incident = report(community, li)

    with pytest.raises(NotFound):
        community.ledger.mark_duplicate(
            incident.id, community.coordinator, of="00000000-0000-0000-0000-000000000000"
        )


# --- resolving ---------------------------------------------------------------------------


def test_resolving_awards_each_handler_5_beans(community, li):
    wang, zhou = community.volunteer("Wang Fang"), community.volunteer("Zhou Min")
    incident = report(community, li, "dispute")
    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang, zhou])

    resolved = community.ledger.resolve_incident(incident.id, community.coordinator)

    assert (resolved.status, resolved.award_per_handler) == ("resolved", 5)
    assert (community.balance(li), community.balance(wang), community.balance(zhou)) == (3, 5, 5)
    assert community.outstanding == 13
    community.check_books()


def test_the_coordinator_may_set_the_award_per_handler(community, li):
    wang = community.volunteer("Wang Fang")
    incident = report(community, li, "fire")
    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang])

    community.ledger.resolve_incident(incident.id, community.coordinator, award_per_handler=8)

    assert community.balance(wang) == 8
    community.check_books()


def test_a_handler_named_twice_is_awarded_once(community, li):
    wang = community.volunteer("Wang Fang")
    incident = report(community, li, "fire")
    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang, wang])

    community.ledger.resolve_incident(incident.id, community.coordinator)

    assert community.balance(wang) == 5
    community.check_books()


def test_an_incident_is_resolved_only_after_it_is_verified_and_only_once(community, li):
    wang = community.volunteer("Wang Fang")
    incident = report(community, li, "fire")
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang])

    with pytest.raises(InvalidState):
        community.ledger.resolve_incident(incident.id, community.coordinator)
    assert community.balance(wang) == 0

    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.resolve_incident(incident.id, community.coordinator)
    with pytest.raises(InvalidState):
        community.ledger.resolve_incident(incident.id, community.coordinator)

    assert (community.balance(li), community.balance(wang)) == (10, 5)
    community.check_books()


def test_a_rejected_incident_cannot_be_resolved(community, li):
    incident = report(community, li, "fire")
    community.ledger.reject_incident(incident.id, community.coordinator, "a prank")

    with pytest.raises(InvalidState):
        community.ledger.resolve_incident(incident.id, community.coordinator)


@pytest.mark.parametrize("award", [101, -1])
def test_a_handler_award_outside_0_to_100_is_refused(community, li, award):
    wang = community.volunteer("Wang Fang")
    incident = report(community, li, "fire")
    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang])

    with pytest.raises(ValidationError):
        community.ledger.resolve_incident(
            incident.id, community.coordinator, award_per_handler=award
        )

    assert community.ledger.get_incident(incident.id).status == "verified"
    assert community.balance(wang) == 0


# --- four eyes -----------------------------------------------------------------------------


def test_a_coordinator_cannot_verify_their_own_report(community, li):
    li_as_coordinator = Actor("li.wei", account_id=li)
    incident = report(community, li, "fire")

    with pytest.raises(SelfVerification):
        community.ledger.verify_incident(incident.id, li_as_coordinator)

    assert community.ledger.get_incident(incident.id).status == "submitted"
    assert community.balance(li) == 0
    community.ledger.verify_incident(incident.id, community.coordinator)
    assert community.balance(li) == 10


def test_a_coordinator_cannot_resolve_an_incident_they_handled(community, li):
    wang = community.volunteer("Wang Fang")
    wang_as_coordinator = Actor("wang.fang", account_id=wang)
    incident = report(community, li, "fire")
    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang])

    with pytest.raises(SelfVerification):
        community.ledger.resolve_incident(incident.id, wang_as_coordinator)

    assert community.ledger.get_incident(incident.id).status == "verified"
    assert community.balance(wang) == 0
    community.ledger.resolve_incident(incident.id, community.coordinator)
    assert community.balance(wang) == 5


def test_a_coordinator_cannot_resolve_an_incident_they_reported(community, li):
    incident = report(community, li, "fire")
    community.ledger.verify_incident(incident.id, community.coordinator)

    with pytest.raises(SelfVerification):
        community.ledger.resolve_incident(incident.id, Actor("li.wei", account_id=li))


def test_a_coordinator_already_named_as_handler_cannot_verify(community, li):
    wang = community.volunteer("Wang Fang")
    incident = report(community, li, "fire")
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang])

    with pytest.raises(SelfVerification):
        community.ledger.verify_incident(incident.id, Actor("wang.fang", account_id=wang))


def test_a_coordinator_who_is_another_volunteer_may_verify(community, li):
    wang = community.volunteer("Wang Fang")
    incident = report(community, li, "fire")

    community.ledger.verify_incident(incident.id, Actor("wang.fang", account_id=wang))

    assert (community.balance(li), community.balance(wang)) == (10, 0)


# --- the daily award cap ---------------------------------------------------------------------


def test_a_volunteer_at_195_today_cannot_be_awarded_10_more_until_tomorrow(community, li):
    community.earn(li, 195)  # two incidents: 100 + 95
    fire = report(community, li, "fire")

    with pytest.raises(AwardCapExceeded):
        community.ledger.verify_incident(fire.id, community.coordinator)

    assert community.ledger.get_incident(fire.id).status == "submitted"
    assert community.balance(li) == 195
    assert community.outstanding == 195

    # 23:59:59 in Kunming is still today ...
    community.clock.set(datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC))
    with pytest.raises(AwardCapExceeded):
        community.ledger.verify_incident(fire.id, community.coordinator)

    # ... and local midnight (16:00 UTC) starts a new day with a fresh cap.
    community.clock.set(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))
    community.ledger.verify_incident(fire.id, community.coordinator)

    assert community.balance(li) == 205
    community.check_books()


def test_awards_up_to_exactly_200_a_day_are_allowed(community, li):
    community.earn(li, 195)
    sanitation = report(community, li, "other")

    community.ledger.verify_incident(sanitation.id, community.coordinator, award=5)

    assert community.balance(li) == 200
    with pytest.raises(AwardCapExceeded):
        community.earn(li, 1)
    assert community.balance(li) == 200


def test_the_cap_counts_awards_not_balance(community, li):
    shop = community.merchant("Corner Grocery")
    community.earn(li, 200)
    community.spend(li, shop, 150)

    with pytest.raises(AwardCapExceeded):
        community.earn(li, 1)

    assert community.balance(li) == 50
    community.check_books()


def test_a_resolution_that_would_take_one_handler_past_the_cap_awards_nobody(community, li):
    wang, zhou = community.volunteer("Wang Fang"), community.volunteer("Zhou Min")
    community.earn(zhou, 198)
    incident = report(community, li, "fire")
    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.assign_handlers(incident.id, community.coordinator, [wang, zhou])

    with pytest.raises(AwardCapExceeded) as refused:
        community.ledger.resolve_incident(incident.id, community.coordinator)

    assert "Zhou Min" in str(refused.value)
    assert "Wang Fang" not in str(refused.value)
    assert community.ledger.get_incident(incident.id).status == "verified"
    assert (community.balance(wang), community.balance(zhou)) == (0, 198)
    assert community.outstanding == 10 + 198

    # A smaller award fits under Zhou's cap, so the coordinator can still resolve it.
    community.ledger.resolve_incident(incident.id, community.coordinator, award_per_handler=2)
    assert (community.balance(wang), community.balance(zhou)) == (2, 200)
    community.check_books()
