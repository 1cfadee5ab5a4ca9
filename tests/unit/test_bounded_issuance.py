"""Beans are created only within the rules, in the ledger (issue 14).

Allotments: only for the current month (or the previous one in the first days of a
month, when the programme allows it), never for a month before the beneficiary's account
was opened, and never more than the programme's maximum (100 beans, SPEC's monthly
allotment). Awards: within 0..100 whoever chooses them (verifying, resolving, an
activity's beans). Pool allocations: within what the pool holds. Every refusal records
nothing.

The community's clock starts on Tuesday 2026-03-10 in Kunming."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.errors import (
    InsufficientBalance,
    LimitExceeded,
    NotFound,
    PeriodNotOpen,
    ValidationError,
)
from ledger.rules import Rules
from tests.scenario import Community


@pytest.fixture
def gran(community: Community) -> str:
    return community.beneficiary("Granny Zhao")  # opened 2026-03-10


def grant(community: Community, period: str, **kwargs):
    return community.ledger.grant_allotments(period, community.coordinator, **kwargs)


@pytest.mark.parametrize(
    ("period", "amount", "error"),
    [
        ("2020-01", 1_000_000, PeriodNotOpen),  # the abuse reproduced on main
        ("2020-01", None, PeriodNotOpen),  # back-dated
        ("1970-01", None, PeriodNotOpen),
        ("0001-01", None, PeriodNotOpen),
        ("2026-02", None, PeriodNotOpen),  # last month, before the account was opened too
        ("2026-04", None, PeriodNotOpen),  # next month
        ("2026-03", 101, LimitExceeded),  # one over the maximum
        ("2026-03", 1_000_000, LimitExceeded),
    ],
)
def test_an_unbounded_or_back_dated_allotment_is_refused_and_records_nothing(
    community, gran, period, amount, error
):
    for account_ids in (None, [gran]):
        community.refuses(
            error, community.ledger.grant_allotments, period, community.coordinator,
            amount=amount, account_ids=account_ids,
        )  # fmt: skip

    assert community.balance(gran) == 0
    assert community.outstanding == 0


def test_the_opening_month_may_be_granted_exactly_the_maximum(community, gran):
    run = grant(community, "2026-03", amount=100, account_ids=[gran])

    assert (run.granted, run.total) == (1, 100)
    assert community.balance(gran) == 100
    community.check_books()


def test_the_limit_names_the_maximum_and_what_was_asked(community, gran):
    refusal = community.refuses(LimitExceeded, grant, community, "2026-03", amount=101)

    assert "at most 100" in str(refusal) and "101" in str(refusal)


def test_last_month_is_closed_on_the_first_of_the_month_by_default(community, gran):
    community.move_to_local(2026, 4, 1, 9)

    community.refuses(PeriodNotOpen, grant, community, "2026-03")

    assert grant(community, "2026-04").granted == 1


def late_community(days: int) -> Community:
    return Community.in_memory(rules=Rules(allotment_late_days=days))


def test_a_programme_may_allow_last_month_in_the_first_days_of_a_month():
    community = late_community(3)
    try:
        gran = community.beneficiary("Granny Zhao")  # opened in March
        community.move_to_local(2026, 4, 3, 23, 59)  # the 3rd day, local time
        newcomer = community.beneficiary("Grandpa Sun")  # opened in April

        run = grant(community, "2026-03")

        # The newcomer's account did not exist in March: nothing is owed for it.
        assert (run.granted, run.skipped, run.granted_ids) == (1, 1, [gran])
        community.refuses(PeriodNotOpen, grant, community, "2026-03", account_ids=[newcomer])
        assert grant(community, "2026-04").granted == 2

        community.move_to_local(2026, 4, 4, 0, 0)  # the 4th day: March is closed
        community.refuses(PeriodNotOpen, grant, community, "2026-03", account_ids=[gran])
        community.refuses(PeriodNotOpen, grant, community, "2026-02", account_ids=[gran])
        assert (community.balance(gran), community.balance(newcomer)) == (200, 100)
        community.check_books()
    finally:
        community.close()


def test_a_batch_with_one_bad_beneficiary_grants_nobody(community, gran):
    community.move_to_local(2026, 3, 31, 12)
    li = community.volunteer("Li Wei")

    community.refuses(NotFound, grant, community, "2026-03", account_ids=[gran, "not-an-account"])
    community.refuses(NotFound, grant, community, "2026-03", account_ids=[gran, li])

    assert community.balance(gran) == 0


def test_the_maximum_and_the_late_days_are_checked_rules():
    with pytest.raises(ValidationError):
        Rules(allotment_beans=120)  # more than the maximum
    with pytest.raises(ValidationError):
        Rules(allotment_late_days=29)
    assert Rules(allotment_beans=120, allotment_max=150).allotment_max == 150


# --- awards and the pool ----------------------------------------------------------------------


def test_an_award_is_at_most_the_maximum_when_verifying_resolving_or_confirming(community):
    li, wang = community.volunteer("Li Wei"), community.volunteer("Wang Fang")
    ledger, coordinator = community.ledger, community.coordinator
    incident = ledger.submit_incident(li, "fire", "smoke from a kitchen")

    community.refuses(ValidationError, ledger.verify_incident, incident.id, coordinator, award=101)
    assert ledger.verify_incident(incident.id, coordinator, award=100).award == 100

    ledger.assign_handlers(incident.id, coordinator, [wang])
    community.refuses(
        ValidationError, ledger.resolve_incident, incident.id, coordinator, award_per_handler=101
    )
    assert ledger.resolve_incident(incident.id, coordinator, award_per_handler=100).status == (
        "resolved"
    )
    starts, ends = community.now, community.now + timedelta(hours=2)
    community.refuses(
        ValidationError, ledger.create_activity, "Litter pick", starts, ends, 101, coordinator
    )
    assert ledger.create_activity("Litter pick", starts, ends, 100, coordinator).beans == 100
    assert (community.balance(li), community.balance(wang)) == (100, 100)
    community.check_books()


def test_the_pool_allocates_exactly_what_it_holds_and_not_one_more(community, gran):
    li = community.volunteer("Li Wei")
    community.earn(li, 10)
    community.give(li, "pool", 7)

    community.refuses(
        InsufficientBalance, community.ledger.allocate_pool, gran, 8, community.coordinator
    )
    community.ledger.allocate_pool(gran, 7, community.coordinator)

    assert (community.balance("pool"), community.balance(gran)) == (0, 7)
    community.check_books()
