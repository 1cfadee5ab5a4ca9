"""Gifts, the gift pool, corrections and monthly allotments (SPEC §3): volunteers give
beans to beneficiaries or to the pool, coordinators allocate the pool, take back awards
made in error, and grant each beneficiary 100 beans a month."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.errors import IdempotencyKeyReused, InsufficientBalance, NotFound, ValidationError
from tests.scenario import Community


@pytest.fixture
def li(community: Community) -> str:
    return community.volunteer("Li Wei")


@pytest.fixture
def gran(community: Community) -> str:
    return community.beneficiary("Granny Zhao")


# --- gifts ------------------------------------------------------------------------------------


def test_a_volunteer_earns_10_and_gives_4_to_an_elderly_neighbour(community, li, gran):
    community.earn(li, 10)

    gift = community.give(li, gran, 4)

    assert (gift.from_id, gift.to, gift.amount) == (li, gran, 4)
    assert (community.balance(li), community.balance(gran)) == (6, 4)
    assert community.outstanding == 10  # a gift moves beans, it issues none
    community.check_books()


def test_a_volunteer_gives_to_the_pool_and_the_coordinator_allocates_it(community, li, gran):
    wang = community.volunteer("Wang Fang")
    community.earn(li, 10)
    community.earn(wang, 5)

    assert community.give(li, "pool", 3).to == "pool"
    community.give(wang, "pool", 5)
    assert community.balance("pool") == 8

    allocation = community.ledger.allocate_pool(gran, 6, community.coordinator)

    assert (allocation.to, allocation.amount) == (gran, 6)
    assert (community.balance("pool"), community.balance(gran)) == (2, 6)
    assert (community.balance(li), community.balance(wang)) == (7, 0)
    community.check_books()


def test_the_pool_cannot_allocate_more_than_it_holds(community, li, gran):
    community.earn(li, 10)
    community.give(li, "pool", 3)

    with pytest.raises(InsufficientBalance):
        community.ledger.allocate_pool(gran, 4, community.coordinator)

    assert (community.balance("pool"), community.balance(gran)) == (3, 0)
    community.check_books()


def test_an_empty_pool_allocates_nothing(community, gran):
    with pytest.raises(InsufficientBalance):
        community.ledger.allocate_pool(gran, 1, community.coordinator)

    assert community.balance("pool") == 0


def test_the_pool_allocates_only_to_beneficiaries(community, li):
    community.earn(li, 10)
    community.give(li, "pool", 5)

    with pytest.raises(NotFound):
        community.ledger.allocate_pool(li, 5, community.coordinator)


def test_a_volunteer_cannot_give_more_than_they_hold(community, li, gran):
    community.earn(li, 10)

    with pytest.raises(InsufficientBalance):
        community.give(li, gran, 11)
    with pytest.raises(InsufficientBalance):
        community.give(li, "pool", 11)

    assert (community.balance(li), community.balance(gran), community.balance("pool")) == (10, 0, 0)
    community.check_books()


@pytest.mark.parametrize("amount", [0, -3])
def test_a_gift_is_a_positive_number_of_beans(community, li, gran, amount):
    community.earn(li, 10)

    with pytest.raises(ValidationError):
        community.give(li, gran, amount)


def test_gifts_go_to_beneficiaries_or_the_pool_not_to_other_volunteers(community, li):
    wang = community.volunteer("Wang Fang")
    community.earn(li, 10)

    with pytest.raises(NotFound):
        community.give(li, wang, 2)

    assert (community.balance(li), community.balance(wang)) == (10, 0)


def test_a_gift_repeated_with_its_key_is_given_once(community, li, gran):
    community.earn(li, 10)

    first = community.give(li, gran, 4, key="gift-1")
    again = community.give(li, gran, 4, key="gift-1")

    assert again == first
    assert (community.balance(li), community.balance(gran)) == (6, 4)

    with pytest.raises(IdempotencyKeyReused):
        community.give(li, gran, 5, key="gift-1")
    with pytest.raises(IdempotencyKeyReused):
        community.give(li, "pool", 4, key="gift-1")

    community.give(li, gran, 4, key="gift-2")  # a new key is a new gift
    assert (community.balance(li), community.balance(gran)) == (2, 8)
    community.check_books()


# --- corrections -------------------------------------------------------------------------------


def test_an_award_made_in_error_is_taken_back_to_issuance(community, li):
    (incident_id,) = community.earn(li, 10)
    community.earn(li, 2)
    assert community.outstanding == 12

    correction = community.ledger.correct(
        li, 10, "the fire was a barbecue", community.coordinator, corrects=incident_id
    )

    assert (correction.account_id, correction.amount) == (li, 10)
    assert community.balance(li) == 2
    assert community.outstanding == 2
    books = community.check_books()
    assert (books.issued, books.corrected, books.issuance) == (12, 10, -2)


def test_a_correction_never_takes_more_than_the_balance(community, li, gran):
    shop = community.merchant("Corner Grocery")
    (award,) = community.earn(li, 10)
    community.spend(li, shop, 7)  # too late: Li has spent most of it

    with pytest.raises(InsufficientBalance):
        community.ledger.correct(
            li, 10, "award made in error", community.coordinator, corrects=award
        )

    assert community.balance(li) == 3
    community.ledger.correct(
        li, 3, "award made in error, what is left", community.coordinator, corrects=award
    )
    assert (community.balance(li), community.balance(shop)) == (0, 7)
    assert community.outstanding == 7
    community.check_books()


def test_an_allotment_granted_in_error_is_corrected(community, gran):
    community.ledger.grant_allotments("2026-03", community.coordinator)
    (allotment,) = community.credits(gran, "allotment")

    community.ledger.correct(
        gran, 100, "moved away in February", community.coordinator, corrects=allotment
    )

    assert community.balance(gran) == 0
    assert community.outstanding == 0
    community.check_books()


def test_a_correction_needs_a_reason(community, li):
    community.earn(li, 10)

    with pytest.raises(ValidationError):
        community.ledger.correct(li, 5, " ", community.coordinator)

    assert community.balance(li) == 10


def test_merchants_and_the_pool_are_not_corrected(community, li):
    shop = community.merchant("Corner Grocery")
    community.earn(li, 10)
    bought = community.spend(li, shop, 5)

    with pytest.raises(NotFound):
        community.ledger.correct(
            shop, 5, "not how merchants are paid", community.coordinator, corrects=bought.id
        )


# --- allotments --------------------------------------------------------------------------------


def test_every_beneficiary_is_granted_100_beans_for_the_month_once(community):
    gran, grandpa = community.beneficiary("Granny Zhao"), community.beneficiary("Grandpa Sun")
    community.volunteer("Li Wei")  # volunteers get no allotment

    run = community.ledger.grant_allotments("2026-03", community.coordinator)

    assert (run.period, run.granted, run.skipped, run.total) == ("2026-03", 2, 0, 200)
    assert sorted(run.granted_ids) == sorted([gran, grandpa])
    assert (community.balance(gran), community.balance(grandpa)) == (100, 100)
    assert community.outstanding == 200

    again = community.ledger.grant_allotments("2026-03", community.coordinator)

    assert (again.granted, again.skipped, again.total) == (0, 2, 0)
    assert (community.balance(gran), community.balance(grandpa)) == (100, 100)
    community.check_books()


def test_the_coordinator_may_grant_another_amount(community, gran):
    run = community.ledger.grant_allotments("2026-03", community.coordinator, amount=60)

    assert (run.granted, run.total) == (1, 60)
    assert community.balance(gran) == 60

    # Once granted, the period is done, whatever amount is asked next.
    assert community.ledger.grant_allotments("2026-03", community.coordinator).granted == 0
    assert community.balance(gran) == 60


@pytest.mark.parametrize("amount", [0, -100])
def test_an_allotment_is_a_positive_number_of_beans(community, gran, amount):
    with pytest.raises(ValidationError):
        community.ledger.grant_allotments("2026-03", community.coordinator, amount=amount)


def test_allotments_may_be_granted_to_some_beneficiaries_first(community):
    gran, grandpa = community.beneficiary("Granny Zhao"), community.beneficiary("Grandpa Sun")

    some = community.ledger.grant_allotments("2026-03", community.coordinator, account_ids=[gran])
    assert (some.granted, some.skipped, some.total, some.granted_ids) == (1, 0, 100, [gran])
    assert (community.balance(gran), community.balance(grandpa)) == (100, 0)

    rest = community.ledger.grant_allotments("2026-03", community.coordinator)
    assert (rest.granted, rest.skipped, rest.granted_ids) == (1, 1, [grandpa])
    assert (community.balance(gran), community.balance(grandpa)) == (100, 100)
    community.check_books()


def test_a_month_that_has_not_begun_is_refused(community, gran):
    with pytest.raises(ValidationError):
        community.ledger.grant_allotments("2026-04", community.coordinator)

    assert community.balance(gran) == 0


@pytest.mark.parametrize("period", ["2026-3", "2026-13", "2026-00", "March", "", "2026-03-01"])
def test_a_malformed_period_is_refused(community, gran, period):
    with pytest.raises(ValidationError):
        community.ledger.grant_allotments(period, community.coordinator)

    assert community.balance(gran) == 0


def test_a_new_month_grants_again_from_local_midnight(community, gran):
    community.ledger.grant_allotments("2026-03", community.coordinator)

    # 31 March 16:00 UTC is already 1 April in Kunming.
    community.clock.set(datetime(2026, 3, 31, 16, 0, tzinfo=UTC))
    run = community.ledger.grant_allotments("2026-04", community.coordinator)

    assert run.granted == 1
    assert community.balance(gran) == 200
    community.check_books()


def test_a_beneficiary_spends_the_allotment_and_a_gift_at_the_grocer(community, li, gran):
    shop = community.merchant("Corner Grocery")
    community.earn(li, 10)
    community.give(li, gran, 5)
    community.ledger.grant_allotments("2026-03", community.coordinator)

    community.spend_card(gran, shop, 30)

    assert (community.balance(gran), community.balance(shop)) == (75, 30)
    assert community.outstanding == 110
    community.check_books()
