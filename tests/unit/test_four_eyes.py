"""Four eyes that cannot be stepped around (SPEC §1, issue 14): staff whose user is
linked to a bean account never reward that account themselves, however its id is
written: no verifying or resolving their own incident, no confirming their own
attendance, no allotting or allocating the pool to themselves. Every refusal records
nothing; another coordinator does it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.errors import NotFound, SelfVerification
from ledger.views import Actor
from tests.scenario import Community


def spellings(account_id: str) -> list[str]:
    return [account_id, account_id.upper(), f" {account_id} ", "{" + account_id.upper() + "}"]


def test_an_actor_keeps_its_account_id_in_canonical_form():
    account_id = "0b9e3c1a-7f7e-4b55-9a55-0c0ffee0b0e5"
    for written in spellings(account_id):
        actor = Actor("coord", written)
        assert actor.account_id == account_id
        assert actor.owns(account_id.upper()) and not actor.owns("someone-else")
    assert Actor("coord").account_id is None and not Actor("coord").owns(account_id)


@pytest.mark.parametrize("spelling", range(4))
def test_a_coordinator_linked_to_a_volunteer_cannot_verify_their_own_report(community, spelling):
    li = community.volunteer("Li Wei")
    incident = community.ledger.submit_incident(li, "fire", "smoke in the stairwell")
    linked = Actor("coord-li", spellings(li)[spelling])

    community.refuses(SelfVerification, community.ledger.verify_incident, incident.id, linked)

    community.ledger.verify_incident(incident.id, community.coordinator)
    assert community.balance(li) == 10


def test_nor_resolve_an_incident_they_handled(community):
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    incident = community.ledger.submit_incident(wang, "dispute", "noise at night")
    community.ledger.verify_incident(incident.id, community.coordinator)
    community.ledger.assign_handlers(incident.id, community.coordinator, [li.upper()])
    linked = Actor("coord-li", li.upper())

    community.refuses(SelfVerification, community.ledger.resolve_incident, incident.id, linked)

    assert community.balance(li) == 0


def test_nor_confirm_their_own_attendance(community):
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    linked = Actor("coord-li", li.upper())
    ledger = community.ledger
    activity = ledger.create_activity(
        "Litter pick", community.now, community.now + timedelta(hours=2), 20, linked
    )
    for volunteer in (li, wang):
        ledger.check_in(activity.id, volunteer, activity.checkin_code)

    community.refuses(SelfVerification, ledger.confirm_attendance, activity.id, linked)
    community.refuses(
        SelfVerification, ledger.confirm_attendance, activity.id, linked, [li.upper()]
    )

    # The linked coordinator may confirm the others; another one confirms them.
    assert ledger.confirm_attendance(activity.id, linked, [wang]).awarded == 1
    assert ledger.confirm_attendance(activity.id, community.coordinator).account_ids == [li]
    assert (community.balance(li), community.balance(wang)) == (20, 20)


def test_nor_allot_or_allocate_the_pool_to_themselves(community):
    gran, zhao = community.beneficiary("Granny Zhao"), community.beneficiary("Grandpa Sun")
    li = community.volunteer("Li Wei")
    community.earn(li, 10)
    community.give(li, "pool", 10)
    linked = Actor("coord-gran", gran.upper())
    ledger = community.ledger

    community.refuses(SelfVerification, ledger.grant_allotments, "2026-03", linked)
    community.refuses(
        SelfVerification, ledger.grant_allotments, "2026-03", linked, account_ids=[zhao, gran]
    )
    community.refuses(SelfVerification, ledger.allocate_pool, gran, 5, linked)
    community.refuses(SelfVerification, ledger.allocate_pool, gran.upper(), 5, linked)

    assert ledger.grant_allotments("2026-03", linked, account_ids=[zhao]).granted == 1
    assert ledger.grant_allotments("2026-03", community.coordinator).granted_ids == [gran]
    ledger.allocate_pool(gran, 5, community.coordinator)
    assert (community.balance(gran), community.balance(zhao)) == (105, 100)
    community.check_books()


def test_a_linked_user_is_linked_to_a_volunteer_or_beneficiary_account(community: Community):
    li, gran = community.volunteer("Li Wei"), community.beneficiary("Granny Zhao")
    shop = community.merchant("Corner Grocery")
    ledger = community.ledger

    assert ledger.get_member_account(li.upper()).id == li
    assert ledger.get_member_account(f" {gran} ").kind == "beneficiary"
    for wrong in ("not-an-account", shop, "pool"):
        with pytest.raises(NotFound):
            ledger.get_member_account(wrong)
