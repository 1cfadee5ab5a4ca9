"""Four eyes above a threshold (issue 14): a correction of more than
``correction_approval_above`` beans, or an allotment batch granting more than
``allotment_batch_approval_above`` beans in all, is prepared by one coordinator and
approved by another; the approval runs it as the command runs it alone. The preparer's
approval is refused (four_eyes_required), a request is approved once, and a pending one
may be withdrawn. Every refusal records nothing.

Here the programme's thresholds are 20 beans for a correction and 200 for a batch (three
beneficiaries at the monthly 100 make 300). The clock starts on Tuesday 2026-03-10."""

from __future__ import annotations

import pytest

from ledger.errors import (
    CorrectionExceedsCredit,
    FourEyesRequired,
    InsufficientBalance,
    InvalidState,
    NotFound,
    PeriodNotOpen,
    SelfVerification,
    UnknownCredit,
    ValidationError,
)
from ledger.rules import Rules
from ledger.views import Actor
from tests.scenario import Community

RULES = Rules(correction_approval_above=20, allotment_batch_approval_above=200)
PREPARER = Community.coordinator  # "coord-1"
SECOND = Actor("coord-2")


@pytest.fixture
def community() -> Community:
    return Community.in_memory(rules=RULES)


@pytest.fixture
def li(community: Community) -> str:
    li = community.volunteer("Li Wei")
    community.earn(li, 60)
    return li


def award_of(community: Community, account: str) -> str:
    return community.credits(account)[0]


# --- corrections ----------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "alone"), [(1, True), (20, True), (21, False), (60, False)])
def test_a_correction_up_to_the_threshold_is_made_alone_and_one_over_needs_a_second_person(
    community, li, amount, alone
):
    award = award_of(community, li)
    if alone:
        community.ledger.correct(li, amount, "typo", PREPARER, corrects=award)
        assert community.balance(li) == 60 - amount
        return
    refusal = community.refuses(
        FourEyesRequired, community.ledger.correct, li, amount, "typo", PREPARER, corrects=award
    )
    assert "more than 20 beans" in str(refusal)
    assert community.balance(li) == 60


def test_a_prepared_correction_is_made_when_another_coordinator_approves_it(community, li):
    award = award_of(community, li)
    request = community.ledger.prepare_correction(
        li, 45, "counted the fire twice", PREPARER, corrects=award
    )
    assert (request.kind, request.status, request.beans, request.prepared_by) == (
        "correction",
        "pending",
        45,
        "coord-1",
    )
    assert community.balance(li) == 60  # nothing moved yet
    assert [r.id for r in community.ledger.list_approval_requests()] == [request.id]

    correction = community.ledger.approve_correction(request.id, SECOND)

    assert (correction.account_id, correction.amount, correction.corrects) == (li, 45, award)
    assert community.balance(li) == 15
    assert community.ledger.list_approval_requests() == []
    decided = community.ledger.get_approval_request(request.id)
    assert (decided.status, decided.decided_by) == ("approved", "coord-2")
    assert decided.result == {"correction_id": correction.id}
    books = community.check_books()
    assert books.corrected == 45


def test_the_preparer_may_not_approve_and_nobody_approves_twice(community, li):
    request = community.ledger.prepare_correction(
        li, 30, "typo", PREPARER, corrects=award_of(community, li)
    )
    community.refuses(FourEyesRequired, community.ledger.approve_correction, request.id, PREPARER)
    community.ledger.approve_correction(request.id, SECOND)

    community.refuses(InvalidState, community.ledger.approve_correction, request.id, SECOND)
    community.refuses(
        InvalidState, community.ledger.approve_correction, request.id, Actor("coord-3")
    )
    assert community.balance(li) == 30


def test_a_withdrawn_request_cannot_be_approved_or_withdrawn_again(community, li):
    request = community.ledger.prepare_correction(
        li, 30, "typo", PREPARER, corrects=award_of(community, li)
    )
    withdrawn = community.ledger.withdraw_request(request.id, SECOND, "wrong member")

    assert (withdrawn.status, withdrawn.decided_by) == ("withdrawn", "coord-2")
    community.refuses(InvalidState, community.ledger.approve_correction, request.id, SECOND)
    community.refuses(InvalidState, community.ledger.withdraw_request, request.id, PREPARER)
    assert community.balance(li) == 60
    assert community.ledger.list_approval_requests() == []


@pytest.mark.parametrize(
    ("amount", "corrects", "error"),
    [
        (61, "award", CorrectionExceedsCredit),  # more than the award
        (30, "not-a-ref", UnknownCredit),
        (30, None, ValidationError),
    ],
)
def test_a_correction_that_would_be_refused_is_refused_when_prepared(
    community, li, amount, corrects, error
):
    ref = award_of(community, li) if corrects == "award" else corrects
    community.refuses(
        error, community.ledger.prepare_correction, li, amount, "typo", PREPARER, corrects=ref
    )


def test_an_approval_checks_the_credit_again_and_the_request_then_stays_pending(community, li):
    award = award_of(community, li)
    request = community.ledger.prepare_correction(li, 50, "typo", PREPARER, corrects=award)
    community.ledger.correct(li, 15, "another typo", SECOND, corrects=award)  # 45 left

    community.refuses(
        CorrectionExceedsCredit, community.ledger.approve_correction, request.id, SECOND
    )
    assert community.ledger.get_approval_request(request.id).status == "pending"


def test_an_approval_checks_the_balance_again(community, li):
    shop = community.merchant("Corner Grocery")
    request = community.ledger.prepare_correction(
        li, 50, "typo", PREPARER, corrects=award_of(community, li)
    )
    community.spend(li, shop, 20)

    community.refuses(InsufficientBalance, community.ledger.approve_correction, request.id, SECOND)


def test_a_request_of_the_other_kind_is_not_found(community, li):
    community.beneficiary("Granny Zhao")
    correction = community.ledger.prepare_correction(
        li, 30, "typo", PREPARER, corrects=award_of(community, li)
    )
    batch = community.ledger.prepare_allotments("2026-03", PREPARER)

    community.refuses(NotFound, community.ledger.approve_allotments, correction.id, SECOND)
    community.refuses(NotFound, community.ledger.approve_correction, batch.id, SECOND)
    community.refuses(NotFound, community.ledger.approve_correction, "not-a-request", SECOND)


def test_preparing_with_the_same_key_returns_the_first_request(community, li):
    award = award_of(community, li)
    first = community.ledger.prepare_correction(li, 30, "typo", PREPARER, corrects=award, key="k-1")
    again = community.ledger.prepare_correction(li, 30, "typo", PREPARER, corrects=award, key="k-1")
    assert again.id == first.id
    assert len(community.ledger.list_approval_requests()) == 1


def test_the_default_threshold_is_the_largest_award_a_coordinator_gives_alone():
    community = Community.in_memory()
    li = community.volunteer("Li Wei")
    community.earn(li, 100)
    community.give(li, community.beneficiary("Granny Zhao"), 100)
    community.earn(li, 100)
    award = community.credits(li)[-1]

    community.ledger.correct(li, 100, "never happened", PREPARER, corrects=award)
    assert Rules().correction_approval_above == 100


# --- allotment batches ----------------------------------------------------------------------


@pytest.fixture
def three(community: Community) -> list[str]:
    return [community.beneficiary(name) for name in ("Granny Zhao", "Grandpa Qian", "Auntie Sun")]


@pytest.mark.parametrize(
    ("amount", "count", "alone"),
    [
        (100, 2, True),  # exactly the threshold: 200
        (66, 3, True),  # 198
        (67, 3, False),  # 201: one over
        (100, 3, False),  # 300
    ],
)
def test_a_batch_up_to_the_threshold_is_granted_alone_and_one_over_needs_a_second_person(
    community, three, amount, count, alone
):
    ids = three[:count]
    plan = community.ledger.plan_allotments("2026-03", PREPARER, amount=amount, account_ids=ids)
    assert (plan.beneficiaries, plan.total, plan.needs_approval) == (
        count,
        amount * count,
        not alone,
    )
    if alone:
        run = community.ledger.grant_allotments("2026-03", PREPARER, amount=amount, account_ids=ids)
        assert run.total == amount * count
        return
    refusal = community.refuses(
        FourEyesRequired, community.ledger.grant_allotments, "2026-03", PREPARER,
        amount=amount, account_ids=ids,
    )  # fmt: skip
    assert "more than 200 beans" in str(refusal)
    assert community.outstanding == 0


def test_a_run_for_everyone_counts_only_the_beneficiaries_it_would_grant(community, three):
    community.ledger.grant_allotments("2026-03", PREPARER, account_ids=three[:1])
    plan = community.ledger.plan_allotments("2026-03", PREPARER)

    assert (plan.beneficiaries, plan.total, plan.needs_approval) == (2, 200, False)
    assert community.ledger.grant_allotments("2026-03", PREPARER).granted == 2


def test_a_prepared_batch_grants_what_was_prepared_when_another_coordinator_approves(
    community, three
):
    request = community.ledger.prepare_allotments("2026-03", PREPARER)
    later = community.beneficiary("Uncle Wu")  # opened after: not in the prepared batch
    assert (request.kind, request.status, request.beans, request.period) == (
        "allotments",
        "pending",
        300,
        "2026-03",
    )
    assert request.account_ids == three
    assert community.outstanding == 0

    run = community.ledger.approve_allotments(request.id, SECOND)

    assert (run.granted, run.skipped, run.total, run.granted_ids) == (3, 0, 300, three)
    assert [community.balance(b) for b in three] == [100, 100, 100]
    assert community.balance(later) == 0
    decided = community.ledger.get_approval_request(request.id)
    assert (decided.status, decided.decided_by) == ("approved", "coord-2")
    assert decided.result == {"granted": 3, "skipped": 0, "total": 300}
    community.check_books()


def test_the_batch_preparer_may_not_approve_and_nobody_approves_twice(community, three):
    request = community.ledger.prepare_allotments("2026-03", PREPARER)
    community.refuses(FourEyesRequired, community.ledger.approve_allotments, request.id, PREPARER)
    community.ledger.approve_allotments(request.id, SECOND)

    community.refuses(InvalidState, community.ledger.approve_allotments, request.id, SECOND)
    assert community.outstanding == 300


def test_a_batch_is_approved_only_while_its_month_is_open(community, three):
    request = community.ledger.prepare_allotments("2026-03", PREPARER)
    community.move_to_local(2026, 4, 1, 9)

    community.refuses(PeriodNotOpen, community.ledger.approve_allotments, request.id, SECOND)
    community.ledger.withdraw_request(request.id, SECOND, "the month closed")
    assert community.outstanding == 0


def test_nobody_approves_a_batch_that_grants_their_own_account(community, three):
    request = community.ledger.prepare_allotments("2026-03", PREPARER)
    linked = Actor("coord-with-an-account", three[1].upper())

    community.refuses(SelfVerification, community.ledger.approve_allotments, request.id, linked)


@pytest.mark.parametrize(
    ("period", "error"),
    [("2026-02", PeriodNotOpen), ("2026-04", PeriodNotOpen)],
)
def test_a_batch_that_would_be_refused_is_refused_when_prepared(community, three, period, error):
    community.refuses(error, community.ledger.prepare_allotments, period, PREPARER)


def test_a_batch_that_grants_nobody_is_not_prepared(community, three):
    community.ledger.grant_allotments("2026-03", PREPARER, account_ids=three[:2])
    community.ledger.grant_allotments("2026-03", PREPARER, account_ids=three[2:])

    community.refuses(ValidationError, community.ledger.prepare_allotments, "2026-03", PREPARER)
