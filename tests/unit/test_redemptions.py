"""Spending beans at a merchant (SPEC §3–§5): a volunteer shows a payment code at the
point of sale, or scans the merchant's counter code and pays; the merchant refunds part or
all of a redemption.

Each test is a small worked account: who earned what, who spent what, and what every
account holds afterwards. In memory (tests.scenario.Community), on a fake clock that
starts at 2026-03-10 02:00 UTC, 10:00 in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest

from ledger import codes
from ledger.codes import Keyring
from ledger.errors import (
    CodeExpired,
    CodeUsed,
    IdempotencyKeyReused,
    InsufficientBalance,
    InvalidCode,
    LimitExceeded,
    MerchantSuspended,
    NotFound,
    NothingToSettle,
    RefundExceedsRedemption,
    RefundWindowClosed,
    ValidationError,
)
from ledger.views import Actor
from tests.scenario import Community

ADMIN = Actor("admin")

NOT_WHOLE_POSITIVE_BEANS = [0, -1, -7, 1.5, 7.0, True, False, "7", None]


# --- the cast --------------------------------------------------------------------------


@pytest.fixture
def grocery(community):
    return community.merchant("Jinsha Grocery", "grocery")


@pytest.fixture
def noodle_shop(community):
    return community.merchant("Old Zhou's Noodles", "restaurant")


def volunteer_with(community, beans, name="Xiao Zhang"):
    volunteer = community.volunteer(name)
    community.earn(volunteer, beans)
    return volunteer


def earn_over_days(community, volunteer, beans):
    """Earn ``beans`` at most 200 a day (the daily award cap), a day at a time."""
    while beans > 0:
        today = min(beans, 200)
        community.earn(volunteer, today)
        beans -= today
        if beans:
            community.next_day()


def holdings(community, volunteer, merchant):
    """(what the volunteer holds, what the merchant holds, the merchant's unsettled beans)."""
    return community.balance(volunteer), community.balance(merchant), community.unsettled(merchant)


def counter_code(community, merchant):
    return community.ledger.get_merchant(merchant).merchant_code


def changed_digit(code, position):
    return code[:position] + str((int(code[position]) + 1) % 10) + code[position + 1 :]


# --- the worked scenario ---------------------------------------------------------------


def test_a_volunteer_earns_10_spends_7_and_is_refunded_2_leaving_5_on_each_side(community, grocery):
    volunteer = community.volunteer("Xiao Zhang")
    community.earn(volunteer, 10)
    assert holdings(community, volunteer, grocery) == (10, 0, 0)

    redemption = community.spend(volunteer, grocery, 7)
    assert holdings(community, volunteer, grocery) == (3, 7, 7)

    refund = community.refund(redemption, 2)
    assert (refund.redemption_id, refund.amount) == (redemption.id, 2)
    assert holdings(community, volunteer, grocery) == (5, 5, 5)
    assert community.ledger.get_redemption(redemption.id).refunded == 2

    # All 10 issued beans are still out there: 5 with the volunteer, 5 with the merchant.
    assert community.outstanding == 10
    assert community.check_books().issuance == -10


def test_a_redemption_says_who_paid_which_merchant_how_much_and_when(community, grocery):
    volunteer = volunteer_with(community, 10)
    when = community.now

    redemption = community.ledger.redeem(
        grocery, community.payment_code(volunteer), 7, note="rice and eggs"
    )

    assert (redemption.payer_id, redemption.merchant_id) == (volunteer, grocery)
    assert (redemption.amount, redemption.refunded, redemption.method) == (7, 0, "payment")
    assert redemption.at == when
    assert community.ledger.get_redemption(redemption.id) == redemption


def test_a_volunteer_pays_a_merchant_by_scanning_its_counter_code(community, grocery):
    volunteer = volunteer_with(community, 10)

    payment = community.pay(volunteer, grocery, 4)

    assert (payment.payer_id, payment.merchant_id, payment.amount) == (volunteer, grocery, 4)
    assert payment.method == "merchant_code"
    assert holdings(community, volunteer, grocery) == (6, 4, 4)


def test_a_payment_by_counter_code_can_be_refunded_like_any_redemption(community, grocery):
    volunteer = volunteer_with(community, 10)
    payment = community.pay(volunteer, grocery, 4)

    community.refund(payment, 4)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)
    community.check_books()


def test_two_shops_each_keep_what_they_took(community, grocery, noodle_shop):
    volunteer = volunteer_with(community, 30)

    community.spend(volunteer, grocery, 12)
    community.pay(volunteer, noodle_shop, 15)

    assert community.balance(volunteer) == 3
    assert (community.balance(grocery), community.balance(noodle_shop)) == (12, 15)
    community.check_books()


def test_after_spending_and_refunds_every_issued_bean_is_held_by_someone(
    community, grocery, noodle_shop
):
    # Xiao Zhang earns 30, Xiao Li 20. Zhang spends 12 at the grocery and 9 at the noodle
    # shop; Li pays 15 at the noodle shop; the grocery refunds Zhang 5, and the next day
    # the noodle shop refunds Li all 15.
    zhang = volunteer_with(community, 30, name="Xiao Zhang")
    li = volunteer_with(community, 20, name="Xiao Li")
    groceries = community.spend(zhang, grocery, 12)
    community.spend(zhang, noodle_shop, 9)
    noodles = community.pay(li, noodle_shop, 15)
    community.refund(groceries, 5)
    community.next_day()
    community.refund(noodles, 15)

    held = {who: community.balance(who) for who in (zhang, li, grocery, noodle_shop)}
    assert list(held.values()) == [14, 20, 7, 9]
    books = community.check_books()
    assert (books.held, books.issuance, books.retired) == (50, -50, 0)


# --- the per-transaction limit ----------------------------------------------------------


def test_a_volunteer_may_spend_500_beans_in_one_redemption_but_not_501(community, grocery):
    volunteer = community.volunteer("Lao Chen")
    earn_over_days(community, volunteer, 600)

    with pytest.raises(LimitExceeded):
        community.spend(volunteer, grocery, 501)
    assert holdings(community, volunteer, grocery) == (600, 0, 0)

    community.spend(volunteer, grocery, 500)
    assert holdings(community, volunteer, grocery) == (100, 500, 500)


def test_a_volunteer_may_pay_500_beans_by_counter_code_but_not_501(community, grocery):
    volunteer = community.volunteer("Lao Chen")
    earn_over_days(community, volunteer, 600)

    with pytest.raises(LimitExceeded):
        community.pay(volunteer, grocery, 501)
    assert holdings(community, volunteer, grocery) == (600, 0, 0)

    community.pay(volunteer, grocery, 500)
    assert holdings(community, volunteer, grocery) == (100, 500, 500)


# --- not enough beans ------------------------------------------------------------------


def test_a_volunteer_with_10_beans_cannot_spend_11_and_nothing_is_recorded(community, grocery):
    volunteer = volunteer_with(community, 10)

    with pytest.raises(InsufficientBalance):
        community.spend(volunteer, grocery, 11)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)
    assert community.outstanding == 10


def test_a_volunteer_with_10_beans_cannot_pay_11_by_counter_code(community, grocery):
    volunteer = volunteer_with(community, 10)

    with pytest.raises(InsufficientBalance):
        community.pay(volunteer, grocery, 11)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)


def test_a_payment_refused_for_want_of_beans_does_not_use_up_the_payment_code(community, grocery):
    volunteer = volunteer_with(community, 5)
    code = community.payment_code(volunteer)

    with pytest.raises(InsufficientBalance):
        community.ledger.redeem(grocery, code, 8)
    community.earn(volunteer, 5)
    community.ledger.redeem(grocery, code, 8)

    assert holdings(community, volunteer, grocery) == (2, 8, 8)


def test_a_volunteer_can_spend_exactly_everything_they_hold(community, grocery):
    volunteer = volunteer_with(community, 10)

    community.spend(volunteer, grocery, 10)

    assert holdings(community, volunteer, grocery) == (0, 10, 10)


# --- suspended merchants ----------------------------------------------------------------


def test_a_suspended_merchant_cannot_redeem_until_it_is_reactivated(community, grocery):
    volunteer = volunteer_with(community, 10)
    community.ledger.suspend_merchant(grocery, ADMIN)
    code = community.payment_code(volunteer)

    with pytest.raises(MerchantSuspended):
        community.ledger.redeem(grocery, code, 7)
    assert holdings(community, volunteer, grocery) == (10, 0, 0)

    assert community.ledger.reactivate_merchant(grocery, ADMIN).status == "active"
    community.ledger.redeem(grocery, code, 7)
    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_a_suspended_merchant_cannot_be_paid_by_counter_code_until_it_is_reactivated(
    community, grocery
):
    volunteer = volunteer_with(community, 10)
    assert community.ledger.suspend_merchant(grocery, ADMIN).status == "suspended"

    with pytest.raises(MerchantSuspended):
        community.pay(volunteer, grocery, 7)
    assert holdings(community, volunteer, grocery) == (10, 0, 0)

    community.ledger.reactivate_merchant(grocery, ADMIN)
    community.pay(volunteer, grocery, 7)
    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_a_redemption_refused_at_a_suspended_merchant_does_not_burn_its_idempotency_key(
    community, grocery
):
    volunteer = volunteer_with(community, 10)
    community.ledger.suspend_merchant(grocery, ADMIN)
    code = community.payment_code(volunteer)
    with pytest.raises(MerchantSuspended):
        community.ledger.redeem(grocery, code, 7, key="till-1/0001")

    community.ledger.reactivate_merchant(grocery, ADMIN)
    community.ledger.redeem(grocery, code, 7, key="till-1/0001")

    assert holdings(community, volunteer, grocery) == (3, 7, 7)


# --- the volunteer's payment code -------------------------------------------------------


@pytest.mark.parametrize("position", [1, 2, 9, 12, 20, 34], ids=lambda p: f"digit{p}")
def test_a_payment_code_with_one_digit_changed_is_invalid(community, grocery, position):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)

    with pytest.raises(InvalidCode):
        community.ledger.redeem(grocery, changed_digit(code, position), 7)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)


def test_a_payment_code_is_still_good_60_seconds_after_it_was_shown(community, grocery):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)

    community.advance(seconds=60)
    community.ledger.redeem(grocery, code, 7)

    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_a_payment_code_has_expired_61_seconds_after_it_was_shown(community, grocery):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)

    community.advance(seconds=61)
    with pytest.raises(CodeExpired):
        community.ledger.redeem(grocery, code, 7)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)
    community.spend(volunteer, grocery, 7)  # a fresh code works
    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_a_payment_code_is_accepted_only_once(community, grocery):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)
    community.ledger.redeem(grocery, code, 3)

    with pytest.raises(CodeUsed):
        community.ledger.redeem(grocery, code, 3)

    assert holdings(community, volunteer, grocery) == (7, 3, 3)


def test_a_payment_code_used_under_one_idempotency_key_is_refused_under_another(community, grocery):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)
    community.ledger.redeem(grocery, code, 3, key="till-1/0001")

    with pytest.raises(CodeUsed):
        community.ledger.redeem(grocery, code, 3, key="till-1/0002")

    assert holdings(community, volunteer, grocery) == (7, 3, 3)


def test_a_payment_code_used_at_one_merchant_is_refused_at_another(community, grocery, noodle_shop):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)
    community.ledger.redeem(grocery, code, 3)

    with pytest.raises(CodeUsed):
        community.ledger.redeem(noodle_shop, code, 3)

    assert (community.balance(volunteer), community.balance(noodle_shop)) == (7, 0)


def test_a_fresh_payment_code_shown_right_after_a_payment_is_a_new_code(community, grocery):
    # The volunteer pays, and the phone at once asks for the next code, for the next shop,
    # within the same second.
    volunteer = volunteer_with(community, 10)
    used = community.payment_code(volunteer)
    community.ledger.redeem(grocery, used, 3)

    following = community.payment_code(volunteer)
    assert following != used
    community.ledger.redeem(grocery, following, 3)

    assert holdings(community, volunteer, grocery) == (4, 6, 6)


def test_a_payment_code_signed_with_another_key_is_invalid(community, grocery):
    volunteer = volunteer_with(community, 10)
    number = community.ledger.get_account(volunteer).number
    forged = codes.issue_payment_code(Keyring.generate(), number, community.now).code

    with pytest.raises(InvalidCode):
        community.ledger.redeem(grocery, forged, 7)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)


def test_a_payment_code_issued_by_another_ledger_is_invalid_here(community, grocery):
    elsewhere = Community.in_memory()
    try:
        code = elsewhere.payment_code(volunteer_with(elsewhere, 10, name="Stranger"))
    finally:
        elsewhere.close()

    with pytest.raises(InvalidCode):
        community.ledger.redeem(grocery, code, 1)


def test_a_merchant_counter_code_is_not_something_a_customer_shows_at_the_till(community, grocery):
    with pytest.raises(InvalidCode):
        community.ledger.redeem(grocery, counter_code(community, grocery), 1)


@pytest.mark.parametrize("code", ["", "hello", "8" * 34, "12345"])
def test_a_till_refuses_what_is_not_a_code(community, grocery, code):
    with pytest.raises(InvalidCode):
        community.ledger.redeem(grocery, code, 1)


def test_a_counter_code_with_a_changed_digit_is_invalid(community, grocery):
    volunteer = volunteer_with(community, 10)
    wrong = changed_digit(counter_code(community, grocery), 9)

    with pytest.raises(InvalidCode):
        community.ledger.pay_merchant(volunteer, wrong, 7)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)


def test_a_well_formed_counter_code_of_no_merchant_is_invalid(community):
    volunteer = volunteer_with(community, 10)
    nobody = codes.merchant_code(codes.new_account_number())

    with pytest.raises(InvalidCode):
        community.ledger.pay_merchant(volunteer, nobody, 7)

    assert community.balance(volunteer) == 10


# --- idempotency: a retry after a network failure never charges twice -------------------


def test_a_retried_redemption_returns_the_first_result_and_moves_beans_once(community, grocery):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)

    first = community.ledger.redeem(grocery, code, 7, note="rice", key="till-1/0001")
    again = community.ledger.redeem(grocery, code, 7, note="rice", key="till-1/0001")

    assert again == first
    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_a_retried_redemption_still_returns_the_first_result_after_its_code_expired(
    community, grocery
):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)
    first = community.ledger.redeem(grocery, code, 7, key="till-1/0001")

    community.advance(minutes=10)
    again = community.ledger.redeem(grocery, code, 7, key="till-1/0001")

    assert again == first
    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_an_idempotency_key_reused_for_another_amount_is_refused(community, grocery):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)
    community.ledger.redeem(grocery, code, 7, key="till-1/0001")

    with pytest.raises(IdempotencyKeyReused):
        community.ledger.redeem(grocery, code, 6, key="till-1/0001")

    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_an_idempotency_key_reused_for_another_customer_is_refused(community, grocery):
    zhang = volunteer_with(community, 10, name="Xiao Zhang")
    li = volunteer_with(community, 10, name="Xiao Li")
    community.spend(zhang, grocery, 7, key="till-1/0001")

    with pytest.raises(IdempotencyKeyReused):
        community.spend(li, grocery, 7, key="till-1/0001")

    assert (community.balance(li), community.balance(grocery)) == (10, 7)


def test_two_merchants_may_use_the_same_idempotency_key_for_different_sales(
    community, grocery, noodle_shop
):
    volunteer = volunteer_with(community, 20)

    at_grocery = community.spend(volunteer, grocery, 7, key="0001")
    at_noodles = community.spend(volunteer, noodle_shop, 5, key="0001")

    assert at_grocery.id != at_noodles.id
    assert community.balance(volunteer) == 8


def test_a_retried_counter_code_payment_returns_the_first_result_and_moves_beans_once(
    community, grocery
):
    volunteer = volunteer_with(community, 10)

    first = community.pay(volunteer, grocery, 4, key="phone/0001")
    again = community.pay(volunteer, grocery, 4, key="phone/0001")

    assert again == first
    assert holdings(community, volunteer, grocery) == (6, 4, 4)


def test_a_counter_code_payment_key_reused_for_another_amount_is_refused(community, grocery):
    volunteer = volunteer_with(community, 10)
    community.pay(volunteer, grocery, 4, key="phone/0001")

    with pytest.raises(IdempotencyKeyReused):
        community.pay(volunteer, grocery, 5, key="phone/0001")

    assert holdings(community, volunteer, grocery) == (6, 4, 4)


def test_counter_code_payments_without_a_key_are_each_a_new_payment(community, grocery):
    volunteer = volunteer_with(community, 10)

    community.pay(volunteer, grocery, 4)
    community.pay(volunteer, grocery, 4)

    assert holdings(community, volunteer, grocery) == (2, 8, 8)


# --- refunds ----------------------------------------------------------------------------


def test_a_redemption_of_7_can_be_refunded_5_then_2_but_never_more(community, grocery):
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)

    with pytest.raises(RefundExceedsRedemption):
        community.refund(redemption, 8)
    community.refund(redemption, 5)
    with pytest.raises(RefundExceedsRedemption):
        community.refund(redemption, 3)
    community.refund(redemption, 2)
    with pytest.raises(RefundExceedsRedemption):
        community.refund(redemption, 1)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)
    assert community.ledger.get_redemption(redemption.id).refunded == 7
    community.check_books()


def test_a_refund_is_possible_exactly_30_days_after_the_redemption(community, grocery):
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)

    community.clock.set(redemption.at + timedelta(days=30))
    community.refund(redemption, 2)

    assert holdings(community, volunteer, grocery) == (5, 5, 5)


def test_a_refund_is_refused_30_days_and_1_second_after_the_redemption(community, grocery):
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)

    community.clock.set(redemption.at + timedelta(days=30, seconds=1))
    with pytest.raises(RefundWindowClosed):
        community.refund(redemption, 2)

    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_the_refund_window_runs_from_the_redemption_not_from_the_last_refund(community, grocery):
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)
    community.clock.set(redemption.at + timedelta(days=20))
    community.refund(redemption, 1)

    community.clock.set(redemption.at + timedelta(days=30, seconds=1))
    with pytest.raises(RefundWindowClosed):
        community.refund(redemption, 1)

    assert holdings(community, volunteer, grocery) == (4, 6, 6)


def test_a_merchant_cannot_refund_another_merchants_redemption(community, grocery, noodle_shop):
    volunteer = volunteer_with(community, 20)
    redemption = community.spend(volunteer, grocery, 7)
    community.pay(volunteer, noodle_shop, 5)  # the noodle shop holds beans to refund with

    with pytest.raises(NotFound):
        community.ledger.refund(redemption.id, noodle_shop, 2)

    assert community.balance(volunteer) == 8
    assert (community.balance(grocery), community.balance(noodle_shop)) == (7, 5)
    assert community.ledger.get_redemption(redemption.id).refunded == 0


@pytest.mark.parametrize("redemption_id", [str(uuid4()), "not-an-id"])
def test_a_refund_of_an_unknown_redemption_is_not_found(community, grocery, redemption_id):
    with pytest.raises(NotFound):
        community.ledger.refund(redemption_id, grocery, 1)


def test_a_retried_refund_gives_back_the_beans_once(community, grocery):
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)

    first = community.refund(redemption, 2, key="refund/0001")
    again = community.refund(redemption, 2, key="refund/0001")

    assert again == first
    assert holdings(community, volunteer, grocery) == (5, 5, 5)
    assert community.ledger.get_redemption(redemption.id).refunded == 2


def test_a_refund_key_reused_for_another_amount_is_refused(community, grocery):
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)
    community.refund(redemption, 2, key="refund/0001")

    with pytest.raises(IdempotencyKeyReused):
        community.refund(redemption, 3, key="refund/0001")

    assert holdings(community, volunteer, grocery) == (5, 5, 5)


def test_refunds_without_a_key_are_each_a_new_refund(community, grocery):
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)

    first = community.refund(redemption, 2)
    second = community.refund(redemption, 2)

    assert first.id != second.id
    assert holdings(community, volunteer, grocery) == (7, 3, 3)


def test_a_refund_of_beans_promised_to_a_prepared_settlement_is_a_deduction(community, grocery):
    """The line stays as prepared (7); the 2 refunded are owed by the shop, which its
    next sales pay back before anything more is settled."""
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)
    settlement = community.ledger.prepare_settlement(community.officer, cutoff=date(2026, 3, 11))
    assert [(line.merchant_id, line.beans) for line in settlement.lines] == [(grocery, 7)]

    community.refund(redemption, 2)

    assert holdings(community, volunteer, grocery) == (5, 5, -2)
    assert community.ledger.get_redemption(redemption.id).refunded == 2
    community.check_books()


def test_after_a_settlement_a_refund_of_an_older_sale_is_taken_from_later_sales(community, grocery):
    volunteer = volunteer_with(community, 20)
    old = community.spend(volunteer, grocery, 7)
    community.donate(1_000_00)
    community.settle(cutoff=date(2026, 3, 11))

    community.next_day()
    community.spend(volunteer, grocery, 3)  # 3 new, unsettled beans
    community.refund(old, 4)  # more than the 3: the shop owes 1

    assert holdings(community, volunteer, grocery) == (14, -1, -1)
    community.next_day()
    community.spend(volunteer, grocery, 6)
    line = community.settle(cutoff=community.today + timedelta(days=1)).lines[0]
    assert line.beans == 5  # 3 + 6 sold, less the 4 refunded
    assert holdings(community, volunteer, grocery) == (8, 0, 0)
    community.check_books()


def test_a_settled_and_paid_redemption_is_refunded_within_the_window(community, grocery):
    """Refunded after its month was paid: the payer has the beans back at once, the shop
    owes them, and its next settlement line is that much smaller (never below 0: a
    deduction larger than the later sales waits for more)."""
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)
    community.donate(1_000_00)
    community.settle(cutoff=date(2026, 3, 11))
    assert holdings(community, volunteer, grocery) == (3, 0, 0)

    community.advance(days=29)
    community.refund(redemption, 2)
    assert holdings(community, volunteer, grocery) == (5, -2, -2)

    community.spend(volunteer, grocery, 1)
    with pytest.raises(NothingToSettle):  # 1 sold against 2 owed: nothing to pay
        community.ledger.prepare_settlement(
            community.officer, cutoff=community.today + timedelta(days=1)
        )
    community.spend(volunteer, grocery, 4)
    line = community.settle(cutoff=community.today + timedelta(days=1)).lines[0]
    assert line.beans == 3  # 5 sold, less 2 owed
    books = community.check_books()
    assert (books.held, books.retired) == (0, 10)


# --- amounts are whole, positive numbers of beans ----------------------------------------


@pytest.mark.parametrize("amount", NOT_WHOLE_POSITIVE_BEANS, ids=repr)
def test_a_redemption_must_be_a_positive_whole_number_of_beans(community, grocery, amount):
    volunteer = volunteer_with(community, 10)
    code = community.payment_code(volunteer)

    with pytest.raises(ValidationError):
        community.ledger.redeem(grocery, code, amount)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)
    community.ledger.redeem(grocery, code, 7)  # and the code was not used up
    assert holdings(community, volunteer, grocery) == (3, 7, 7)


@pytest.mark.parametrize("amount", NOT_WHOLE_POSITIVE_BEANS, ids=repr)
def test_a_counter_code_payment_must_be_a_positive_whole_number_of_beans(
    community, grocery, amount
):
    volunteer = volunteer_with(community, 10)

    with pytest.raises(ValidationError):
        community.pay(volunteer, grocery, amount)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)


@pytest.mark.parametrize("amount", NOT_WHOLE_POSITIVE_BEANS, ids=repr)
def test_a_refund_must_be_a_positive_whole_number_of_beans(community, grocery, amount):
    volunteer = volunteer_with(community, 10)
    redemption = community.spend(volunteer, grocery, 7)

    with pytest.raises(ValidationError):
        community.refund(redemption, amount)

    assert holdings(community, volunteer, grocery) == (3, 7, 7)


def test_a_note_longer_than_200_characters_is_refused(community, grocery):
    volunteer = volunteer_with(community, 10)

    with pytest.raises(ValidationError):
        community.ledger.redeem(grocery, community.payment_code(volunteer), 7, note="x" * 201)

    assert holdings(community, volunteer, grocery) == (10, 0, 0)
