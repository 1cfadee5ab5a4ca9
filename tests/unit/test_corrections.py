"""Corrections name the credit they correct and never take back more than is left of it
(SPEC §3, issue 14): an award (the incident or activity), an allotment, a gift received
or a pool allocation credited to the same account. Every refusal records nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.errors import (
    CorrectionExceedsCredit,
    InsufficientBalance,
    NotFound,
    UnknownCredit,
    ValidationError,
)
from tests.scenario import Community


@pytest.fixture
def li(community: Community) -> str:
    return community.volunteer("Li Wei")


@pytest.fixture
def gran(community: Community) -> str:
    return community.beneficiary("Granny Zhao")


def correct(community: Community, account: str, amount: int, corrects: object, **kwargs):
    return community.ledger.correct(
        account, amount, "made in error", community.coordinator, corrects=corrects, **kwargs
    )


def test_the_abuses_reproduced_on_main_are_refused_and_record_nothing(community, li):
    wang = community.volunteer("Wang Fang")
    (fifteen,) = community.earn(li, 15)
    (others,) = community.earn(wang, 10)
    shop = community.merchant("Corner Grocery")
    bought = community.spend(li, shop, 1)

    for corrects, error in (
        (None, ValidationError),  # a correction without `corrects`
        ("", ValidationError),
        ("not-a-ref", UnknownCredit),
        (others, UnknownCredit),  # another account's award
        (bought.id, UnknownCredit),  # a redemption is no credit
        (li, UnknownCredit),  # an account is no credit
        (shop, UnknownCredit),
    ):
        community.refuses(error, correct, community, li, 1, corrects)
    community.refuses(CorrectionExceedsCredit, correct, community, li, 30, fifteen)

    assert (community.balance(li), community.balance(wang)) == (14, 10)


def test_the_same_award_is_never_corrected_twice_over(community, li):
    (ninety,) = community.earn(li, 90)
    community.earn(li, 90)

    correct(community, li, 90, ninety)  # exactly what it awarded
    community.refuses(CorrectionExceedsCredit, correct, community, li, 90, ninety)
    community.refuses(CorrectionExceedsCredit, correct, community, li, 1, ninety)

    assert community.balance(li) == 90
    community.check_books()


def test_a_credit_is_corrected_in_parts_up_to_exactly_what_is_left(community, li):
    (award,) = community.earn(li, 15)

    correct(community, li, 10, award)
    refusal = community.refuses(CorrectionExceedsCredit, correct, community, li, 6, award)
    correct(community, li, 5, award)

    assert "5 of the 15 beans" in str(refusal)
    assert community.balance(li) == 0
    community.check_books()


def test_every_kind_of_credit_is_corrected_on_the_account_it_credited(community, li, gran):
    ledger, coordinator = community.ledger, community.coordinator
    wang = community.volunteer("Wang Fang")
    incident = ledger.submit_incident(wang, "fire", "smoke")
    ledger.verify_incident(incident.id, coordinator)  # Wang is awarded 10
    ledger.assign_handlers(incident.id, coordinator, [li])
    ledger.resolve_incident(incident.id, coordinator)  # Li is awarded 5 as a handler
    activity = ledger.create_activity(
        "Litter pick", community.now, community.now + timedelta(hours=1), 20, coordinator
    )
    ledger.check_in(activity.id, li, activity.checkin_code)
    ledger.confirm_attendance(activity.id, coordinator)
    ledger.grant_allotments("2026-03", coordinator)
    (allotment,) = community.credits(gran, "allotment")
    gift = community.give(li, gran, 6)
    community.give(li, "pool", 4)
    allocation = ledger.allocate_pool(gran, 3, coordinator)

    community.refuses(CorrectionExceedsCredit, correct, community, li, 6, incident.id)
    community.refuses(UnknownCredit, correct, community, li, 1, gift.id)  # Li gave it
    community.refuses(UnknownCredit, correct, community, gran, 1, incident.id)
    correct(community, li, 5, incident.id)  # the handler's award, not the reporter's
    correct(community, wang, 10, incident.id)
    correct(community, li, 10, activity.id)
    correct(community, gran, 100, allotment)
    correct(community, gran, 6, gift.id)
    correct(community, gran, 3, allocation.id)
    community.refuses(CorrectionExceedsCredit, correct, community, li, 11, activity.id)

    assert (community.balance(li), community.balance(wang), community.balance(gran)) == (0, 0, 0)
    community.check_books()


def test_a_correction_names_its_credit_in_canonical_form(community, li):
    (award,) = community.earn(li, 10)

    done = correct(community, li, 4, f"  {award.upper()} ")

    assert (done.corrects, done.amount) == (award, 4)
    community.refuses(CorrectionExceedsCredit, correct, community, li, 7, award.upper())


def test_the_balance_still_bounds_a_correction(community, li):
    (award,) = community.earn(li, 10)
    community.spend(li, community.merchant("Corner Grocery"), 8)

    community.refuses(InsufficientBalance, correct, community, li, 3, award)
    community.refuses(NotFound, correct, community, "not-an-account", 1, award)

    correct(community, li, 2, award)
    assert community.balance(li) == 0


def test_a_repeated_correction_with_its_key_takes_back_once(community, li):
    (first, second) = community.earn(li, 100) + community.earn(li, 50)

    done = correct(community, li, 20, first, key="c-1")
    assert correct(community, li, 20, first, key="c-1") == done
    community.refuses(Exception, correct, community, li, 20, second, key="c-1")

    assert community.balance(li) == 130


def test_the_credits_a_correction_may_name_are_listed_newest_first_with_what_is_left(
    community, li, gran
):
    (fire,) = community.earn(li, 30)
    community.advance(minutes=1)
    community.ledger.grant_allotments("2026-03", community.coordinator, account_ids=[gran])
    community.advance(minutes=1)
    gift = community.give(li, gran, 12).id
    community.advance(minutes=1)
    community.give(li, "pool", 5)
    allocation = community.ledger.allocate_pool(gran, 5, community.coordinator).id
    correct(community, gran, 4, gift)
    shop = community.merchant("Corner Grocery")
    community.spend_card(gran, shop, 3)  # a redemption is no credit

    listed = [(c.kind, c.label, c.credited, c.left) for c in community.ledger.list_credits(gran)]
    assert listed == [
        ("pool_allocation", "", 5, 5),
        ("gift", "", 12, 8),
        ("allotment", "2026-03", 100, 100),
    ]
    assert community.ledger.list_credits(gran)[0].id == allocation
    (award,) = community.ledger.list_credits(li)  # gifts Li gave are not Li's credits
    assert (award.id, award.kind, award.label, award.left) == (fire, "incident", "other", 30)
    community.refuses(NotFound, community.ledger.list_credits, shop)
