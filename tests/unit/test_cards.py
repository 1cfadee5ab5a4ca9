"""Beneficiary cards (SPEC §4–§5): an elderly resident without a smartphone spends the
monthly allotment with a printed card, optionally protected by a 4-digit PIN, at grocery,
produce and canteen merchants, at most 50 beans per local day.

Worked scenarios in memory on a fake clock that starts at 2026-03-10 02:00 UTC, which is
10:00 on 10 March in Asia/Shanghai; local midnight is 16:00 UTC. The last tests use one
SQLite file shared by two ledger objects, as two server processes would.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger import codes
from ledger.codes import Keyring
from ledger.errors import (
    CardRevoked,
    InsufficientBalance,
    InvalidCode,
    LimitExceeded,
    MerchantNotAllowed,
    NotFound,
    PinLocked,
    PinRequired,
    ValidationError,
    WrongPin,
)
from ledger.persistence import open_ledger
from ledger.views import Actor, CardView
from tests.scenario import Community

COORDINATOR = Community.coordinator
ADMIN = Actor("admin")
PIN, WRONG = "1234", "9999"


@pytest.fixture
def clock(community):
    """The community's fake clock: 2026-03-10 02:00 UTC, 10:00 local."""
    return community.clock


@pytest.fixture
def grocery(community):
    return community.merchant("Jinsha Grocery", "grocery")


def beneficiary_with_card(ledger, *, pin=None, name="Grandma Wang"):
    """A beneficiary granted March's allotment of 100 beans, holding a new card."""
    beneficiary = ledger.open_beneficiary(name)
    ledger.grant_allotments("2026-03", COORDINATOR, account_ids=[beneficiary.id])
    card = ledger.issue_card(beneficiary.id, COORDINATOR, pin=pin)
    return beneficiary.id, card.card_code


def holdings(ledger, beneficiary_id, merchant_id):
    return ledger.get_balance(beneficiary_id), ledger.get_merchant(merchant_id).balance


def changed_digit(code, position):
    digit = code[position]
    return code[:position] + str((int(digit) + 1) % 10) + code[position + 1 :]


def enter_wrong_pins(ledger, merchant_id, card, times):
    """Try ``times`` wrong PINs; return the errors raised."""
    errors = []
    for _ in range(times):
        with pytest.raises(WrongPin) as refused:
            ledger.redeem(merchant_id, card, 5, pin=WRONG)
        errors.append(refused.value)
    return errors


# --- issuing and spending ----------------------------------------------------------------


def test_a_coordinator_issues_a_printable_17_digit_card(ledger):
    beneficiary = ledger.open_beneficiary("Grandma Wang").id

    card = ledger.issue_card(beneficiary, COORDINATOR)

    assert card == CardView(beneficiary, card.card_code, has_pin=False)
    assert len(card.card_code) == 17 and codes.classify_code(card.card_code) == "card"
    assert ledger.issue_card(beneficiary, COORDINATOR, pin=PIN).has_pin is True


def test_a_beneficiary_granted_100_beans_spends_30_at_the_grocery_with_the_card(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger)
    assert holdings(ledger, grandma, grocery) == (100, 0)

    redemption = ledger.redeem(grocery, card, 30)

    assert (redemption.payer_id, redemption.amount, redemption.method) == (grandma, 30, "card")
    assert holdings(ledger, grandma, grocery) == (70, 30)
    assert ledger.get_merchant(grocery).unsettled_beans == 30


@pytest.mark.parametrize("category", ["grocery", "produce", "canteen"])
def test_a_card_is_accepted_at_food_merchants(community, ledger, category):
    shop = community.merchant(f"a {category}", category)
    grandma, card = beneficiary_with_card(ledger)

    ledger.redeem(shop, card, 20)

    assert holdings(ledger, grandma, shop) == (80, 20)


@pytest.mark.parametrize("category", ["restaurant", "pharmacy", "services", "other"])
def test_a_card_is_refused_at_merchants_that_do_not_sell_food_for_the_allotment(
    community, ledger, category
):
    shop = community.merchant(f"a {category}", category)
    grandma, card = beneficiary_with_card(ledger)

    with pytest.raises(MerchantNotAllowed):
        ledger.redeem(shop, card, 20)

    assert holdings(ledger, grandma, shop) == (100, 0)


def test_a_beneficiary_cannot_spend_more_than_the_allotment(community, ledger, grocery, clock):
    grandma, card = beneficiary_with_card(ledger)
    ledger.redeem(grocery, card, 50)
    clock.advance(days=1)
    ledger.redeem(grocery, card, 45)

    clock.advance(days=1)
    with pytest.raises(InsufficientBalance):
        ledger.redeem(grocery, card, 6)

    ledger.redeem(grocery, card, 5)
    assert holdings(ledger, grandma, grocery) == (0, 100)
    assert community.check_books().issued == 100


def test_a_card_redemption_can_be_refunded_to_the_beneficiary(community, ledger, grocery, clock):
    grandma, card = beneficiary_with_card(ledger)
    redemption = ledger.redeem(grocery, card, 30)

    clock.advance(days=3)
    ledger.refund(redemption.id, grocery, 10)

    assert holdings(ledger, grandma, grocery) == (80, 20)
    community.check_books()


def test_a_retried_card_redemption_charges_once_and_counts_once_against_the_day(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger)

    first = ledger.redeem(grocery, card, 30, key="till-1/0001")
    again = ledger.redeem(grocery, card, 30, key="till-1/0001")
    ledger.redeem(grocery, card, 20)

    assert again == first
    assert holdings(ledger, grandma, grocery) == (50, 50)


# --- the daily limit of 50 beans, by local day -------------------------------------------


def test_a_beneficiary_cannot_spend_more_than_50_beans_in_one_local_day(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger)
    ledger.redeem(grocery, card, 30)
    ledger.redeem(grocery, card, 20)

    with pytest.raises(LimitExceeded):
        ledger.redeem(grocery, card, 1)

    assert holdings(ledger, grandma, grocery) == (50, 50)


def test_a_single_card_payment_of_51_beans_is_over_the_daily_limit(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger)

    with pytest.raises(LimitExceeded):
        ledger.redeem(grocery, card, 51)

    ledger.redeem(grocery, card, 50)
    assert holdings(ledger, grandma, grocery) == (50, 50)


def test_the_daily_limit_starts_again_at_local_midnight_not_at_utc_midnight(ledger, grocery, clock):
    grandma, card = beneficiary_with_card(ledger)
    ledger.redeem(grocery, card, 50)  # 10:00 on 10 March, local time

    clock.set(datetime(2026, 3, 10, 15, 59, 59, tzinfo=UTC))  # 23:59:59 local
    with pytest.raises(LimitExceeded):
        ledger.redeem(grocery, card, 1)

    clock.set(datetime(2026, 3, 10, 16, 0, tzinfo=UTC))  # 00:00 on 11 March, local
    ledger.redeem(grocery, card, 50)

    assert holdings(ledger, grandma, grocery) == (0, 100)


def test_crossing_utc_midnight_inside_one_local_day_does_not_reset_the_daily_limit(
    ledger, grocery, clock
):
    grandma, card = beneficiary_with_card(ledger)
    clock.set(datetime(2026, 3, 10, 20, 0, tzinfo=UTC))  # 04:00 on 11 March, local
    ledger.redeem(grocery, card, 50)

    clock.set(datetime(2026, 3, 11, 0, 30, tzinfo=UTC))  # 08:30 on 11 March, local
    with pytest.raises(LimitExceeded):
        ledger.redeem(grocery, card, 1)

    clock.set(datetime(2026, 3, 11, 16, 0, tzinfo=UTC))  # 00:00 on 12 March, local
    ledger.redeem(grocery, card, 50)
    assert holdings(ledger, grandma, grocery) == (0, 100)


def test_a_same_day_refund_gives_back_that_days_allowance(ledger, grocery, clock):
    grandma, card = beneficiary_with_card(ledger)
    redemption = ledger.redeem(grocery, card, 50)

    clock.advance(hours=3)  # still 10 March, local
    ledger.refund(redemption.id, grocery, 20)
    with pytest.raises(LimitExceeded):
        ledger.redeem(grocery, card, 21)
    ledger.redeem(grocery, card, 20)

    assert holdings(ledger, grandma, grocery) == (50, 50)


def test_refunding_yesterdays_purchase_gives_no_extra_allowance_today(ledger, grocery, clock):
    # 10 March: Grandma Wang spends 30. 11 March: she spends her 50, and the grocery
    # refunds 20 of the 10 March purchase. She has still spent 50 on 11 March.
    grandma, card = beneficiary_with_card(ledger)
    yesterday = ledger.redeem(grocery, card, 30)
    clock.advance(days=1)
    ledger.redeem(grocery, card, 50)

    ledger.refund(yesterday.id, grocery, 20)
    with pytest.raises(LimitExceeded):
        ledger.redeem(grocery, card, 1)

    assert holdings(ledger, grandma, grocery) == (40, 60)


# --- reissued cards ----------------------------------------------------------------------


def test_a_reissued_card_revokes_the_old_one_and_the_new_one_spends_the_same_beans(ledger, grocery):
    grandma, lost_card = beneficiary_with_card(ledger)
    ledger.redeem(grocery, lost_card, 10)

    new_card = ledger.issue_card(grandma, COORDINATOR).card_code

    assert new_card != lost_card
    with pytest.raises(CardRevoked):
        ledger.redeem(grocery, lost_card, 10)
    ledger.redeem(grocery, new_card, 10)
    assert holdings(ledger, grandma, grocery) == (80, 20)


def test_a_card_issued_with_a_key_is_issued_once_per_key_and_beneficiary(ledger, grocery):
    grandma, _ = beneficiary_with_card(ledger)
    grandpa = ledger.open_beneficiary("Grandpa Li").id
    first = ledger.issue_card(grandma, COORDINATOR, key="k1")
    assert ledger.issue_card(grandma, COORDINATOR, key="k1") == first
    ledger.redeem(grocery, first.card_code, 10)  # the repeat revoked nothing
    theirs = ledger.issue_card(grandpa, COORDINATOR, key="k1")  # another beneficiary's card
    assert theirs.card_code != first.card_code
    newer = ledger.issue_card(grandma, COORDINATOR, key="k2")
    assert newer.card_code not in (first.card_code, theirs.card_code)
    with pytest.raises(CardRevoked):
        ledger.redeem(grocery, first.card_code, 10)
    issued = [
        n for n in ledger.recorder.select_notifications(start=1, limit=1000)
        if n.topic.endswith("CardIssued")
    ]  # fmt: skip
    assert len(issued) == 4  # the fixture's card, k1 for each of them, k2


def test_a_reissued_card_is_still_bound_by_the_days_spending(ledger, grocery):
    grandma, lost_card = beneficiary_with_card(ledger)
    ledger.redeem(grocery, lost_card, 40)

    new_card = ledger.issue_card(grandma, COORDINATOR).card_code

    with pytest.raises(LimitExceeded):
        ledger.redeem(grocery, new_card, 11)
    ledger.redeem(grocery, new_card, 10)


def test_a_card_can_be_issued_only_to_a_beneficiary(ledger):
    volunteer = ledger.open_volunteer("Xiao Zhang").id

    with pytest.raises(NotFound):
        ledger.issue_card(volunteer, COORDINATOR)


@pytest.mark.parametrize("pin", ["123", "12345", "12a4", "", 1234, " 1234"], ids=repr)
def test_a_card_pin_is_exactly_four_digits(ledger, pin):
    grandma = ledger.open_beneficiary("Grandma Wang").id

    with pytest.raises(ValidationError):
        ledger.issue_card(grandma, COORDINATOR, pin=pin)


# --- card codes --------------------------------------------------------------------------


@pytest.mark.parametrize("position", [1, 8, 15, 16], ids=lambda p: f"digit{p}")
def test_a_card_code_with_one_digit_changed_is_invalid(ledger, grocery, position):
    grandma, card = beneficiary_with_card(ledger)

    with pytest.raises(InvalidCode):
        ledger.redeem(grocery, changed_digit(card, position), 10)

    assert holdings(ledger, grandma, grocery) == (100, 0)


def test_a_well_formed_card_that_was_never_issued_is_invalid(ledger, grocery):
    beneficiary_with_card(ledger)
    never_issued = codes.card_code(codes.new_card_number())

    with pytest.raises(InvalidCode):
        ledger.redeem(grocery, never_issued, 10)

    assert ledger.get_merchant(grocery).balance == 0


# --- PINs --------------------------------------------------------------------------------


def test_a_card_with_a_pin_pays_only_with_the_right_pin(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger, pin=PIN)

    with pytest.raises(WrongPin):
        ledger.redeem(grocery, card, 10, pin=WRONG)
    with pytest.raises(PinRequired):
        ledger.redeem(grocery, card, 10)
    assert holdings(ledger, grandma, grocery) == (100, 0)

    ledger.redeem(grocery, card, 10, pin=PIN)
    assert holdings(ledger, grandma, grocery) == (90, 10)


@pytest.mark.parametrize("missing", [None, "", "  "])
def test_a_missing_pin_is_required_and_uses_up_no_try(ledger, grocery, missing):
    """Issue 14: a till that forgot to ask used up an elder's tries."""
    _grandma, card = beneficiary_with_card(ledger, pin=PIN)
    enter_wrong_pins(ledger, grocery, card, 4)  # one try left
    before = ledger.recorder.max_notification_id()

    for _ in range(10):
        with pytest.raises(PinRequired):
            ledger.redeem(grocery, card, 10, pin=missing)

    assert ledger.recorder.max_notification_id() == before
    ledger.redeem(grocery, card, 10, pin=PIN)  # not locked: the right PIN still pays


def test_a_malformed_pin_at_the_till_is_just_a_wrong_pin(ledger, grocery):
    _grandma, card = beneficiary_with_card(ledger, pin=PIN)

    with pytest.raises(WrongPin):
        ledger.redeem(grocery, card, 10, pin="12")


def test_the_fifth_wrong_pin_locks_the_card_and_then_even_the_right_pin_is_refused(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger, pin=PIN)

    errors = enter_wrong_pins(ledger, grocery, card, 5)

    assert [type(e) for e in errors] == [WrongPin] * 4 + [PinLocked]
    assert issubclass(PinLocked, WrongPin)
    with pytest.raises(PinLocked):
        ledger.redeem(grocery, card, 10, pin=PIN)
    assert holdings(ledger, grandma, grocery) == (100, 0)


def test_a_coordinator_unlocks_a_locked_card(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger, pin=PIN)
    enter_wrong_pins(ledger, grocery, card, 5)

    ledger.unlock_card(grandma, COORDINATOR)

    ledger.redeem(grocery, card, 10, pin=PIN)
    assert holdings(ledger, grandma, grocery) == (90, 10)


def test_an_unlocked_card_gets_five_fresh_tries(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger, pin=PIN)
    enter_wrong_pins(ledger, grocery, card, 5)
    ledger.unlock_card(grandma, COORDINATOR)

    errors = enter_wrong_pins(ledger, grocery, card, 5)

    assert [type(e) for e in errors] == [WrongPin] * 4 + [PinLocked]


def test_a_right_pin_after_four_wrong_ones_starts_the_count_again(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger, pin=PIN)
    enter_wrong_pins(ledger, grocery, card, 4)
    ledger.redeem(grocery, card, 10, pin=PIN)

    errors = enter_wrong_pins(ledger, grocery, card, 5)

    assert [type(e) for e in errors] == [WrongPin] * 4 + [PinLocked]
    assert holdings(ledger, grandma, grocery) == (90, 10)


def test_a_reissued_card_starts_with_no_wrong_tries(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger, pin=PIN)
    enter_wrong_pins(ledger, grocery, card, 5)

    new_card = ledger.issue_card(grandma, COORDINATOR, pin="4321").card_code

    ledger.redeem(grocery, new_card, 10, pin="4321")
    assert holdings(ledger, grandma, grocery) == (90, 10)


def test_a_card_without_a_pin_needs_none(ledger, grocery):
    grandma, card = beneficiary_with_card(ledger)

    ledger.redeem(grocery, card, 10)

    assert holdings(ledger, grandma, grocery) == (90, 10)


# --- two server processes on one SQLite file ---------------------------------------------


@pytest.fixture
def two_servers(sqlite_url, fake_clock):
    """Two ledger objects on one SQLite file, each with its own payment-code key, as
    before and after a key rotation (or as two servers that disagree on the key)."""
    first = open_ledger(sqlite_url, clock=fake_clock, keyring=Keyring.generate())
    second = open_ledger(sqlite_url, clock=fake_clock, keyring=Keyring.generate())
    yield first, second
    second.close()
    first.close()


def test_a_new_payment_code_key_does_not_invalidate_printed_cards(two_servers):
    old_key, new_key = two_servers
    grocery = old_key.register_merchant("Jinsha Grocery", "grocery", by=ADMIN).id
    grandma, card = beneficiary_with_card(old_key, pin=PIN)
    volunteer = old_key.open_volunteer("Xiao Zhang").id
    payment_code = old_key.issue_payment_code(volunteer).code

    new_key.redeem(grocery, card, 10, pin=PIN)
    with pytest.raises(InvalidCode):
        new_key.redeem(grocery, payment_code, 1)

    assert holdings(new_key, grandma, grocery) == (90, 10)


def test_wrong_pins_are_remembered_by_every_server(two_servers):
    first, second = two_servers
    grocery = first.register_merchant("Jinsha Grocery", "grocery", by=ADMIN).id
    grandma, card = beneficiary_with_card(first, pin=PIN)

    errors = enter_wrong_pins(first, grocery, card, 2)
    errors += enter_wrong_pins(second, grocery, card, 3)

    assert [type(e) for e in errors] == [WrongPin] * 4 + [PinLocked]
    with pytest.raises(PinLocked):
        first.redeem(grocery, card, 10, pin=PIN)
    assert holdings(second, grandma, grocery) == (100, 0)


def test_wrong_pins_survive_a_restart(sqlite_url, fake_clock):
    before = open_ledger(sqlite_url, clock=fake_clock)
    grocery = before.register_merchant("Jinsha Grocery", "grocery", by=ADMIN).id
    _grandma, card = beneficiary_with_card(before, pin=PIN)
    enter_wrong_pins(before, grocery, card, 4)
    before.close()

    after = open_ledger(sqlite_url, clock=fake_clock)
    try:
        with pytest.raises(PinLocked):
            after.redeem(grocery, card, 10, pin=WRONG)
    finally:
        after.close()
