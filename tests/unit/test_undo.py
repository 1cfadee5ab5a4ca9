"""Mistakes undone as new entries (issue 14): a donation reversed by a second fund
officer, a settlement cancelled before any line is paid. Nothing is edited or deleted;
every refusal records nothing."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import FourEyesRequired, InsufficientFund, InvalidState, NotFound
from ledger.errors import ValidationError as Invalid
from tests.scenario import Community

# --- reversing a donation ------------------------------------------------------------------


def test_a_mistyped_donation_is_reversed_by_another_officer_and_recorded_again(community):
    """¥10,000.00 typed for ¥100.00: the second officer reverses it with a reason, the
    fund's balance drops back, and the receipt is recorded again with the right amount."""
    wrong = community.donate(1_000_000, "R-7")
    reversed_ = community.ledger.reverse_donation(
        wrong.id, "typed 10000 for 100", community.second_officer
    )

    assert reversed_.reversed and community.ledger.get_fund().balance_fen == 0
    right = community.donate(10_000, "R-7")
    assert right.id != wrong.id and not right.reversed
    assert community.donate(10_000, "R-7") == right  # recorded once, as before
    assert community.ledger.get_fund().balance_fen == 10_000


def reverse(community: Community, donation_id, reason="mistyped", by=None):
    return community.ledger.reverse_donation(donation_id, reason, by or community.second_officer)


@pytest.mark.parametrize(
    "abuse, error",
    [
        ("by the officer who recorded it", FourEyesRequired),
        ("twice", InvalidState),
        ("with no reason", Invalid),
        ("of no donation", NotFound),
        ("after its cash was paid out", InsufficientFund),
    ],
)
def test_a_reversal_is_refused_and_records_nothing(community, abuse, error):
    li, shop = community.volunteer("Li Wei"), community.merchant("Corner Grocery")
    donation = community.donate(1_000, "R-1")
    if abuse == "twice":
        reverse(community, donation.id)
    if abuse == "after its cash was paid out":
        community.earn(li, 9)
        community.spend(li, shop, 9)
        community.settle(cutoff=community.today.replace(day=11))  # 900 + 90 rebate paid
    arguments = {
        "by the officer who recorded it": (donation.id, "mistyped", community.officer),
        "twice": (donation.id, "mistyped", community.second_officer),
        "with no reason": (donation.id, "  ", community.second_officer),
        "of no donation": ("not-a-donation", "mistyped", community.second_officer),
        "after its cash was paid out": (donation.id, "mistyped", community.second_officer),
    }[abuse]

    community.refuses(error, community.ledger.reverse_donation, *arguments)


def test_a_reversal_takes_at_most_the_funds_balance(community):
    """R-1's ¥1.10 paid a settlement line; the fund can give back exactly what it holds,
    not a fen more."""
    li, shop = community.volunteer("Li Wei"), community.merchant("Corner Grocery")
    community.earn(li, 1)
    community.spend(li, shop, 1)
    paid_out = community.donate(110, "R-1")  # exactly the line: ¥1.00 + ¥0.10 rebate
    community.settle(cutoff=community.today.replace(day=11))
    community.donate(109, "R-2")

    community.refuses(InsufficientFund, reverse, community, paid_out.id)  # 110 of 109
    community.donate(1, "R-3")
    reverse(community, paid_out.id)  # 110 of 110
    assert community.ledger.get_fund().balance_fen == 0


# --- cancelling a settlement -----------------------------------------------------------------


def test_a_cancelled_settlement_gives_its_beans_back_for_the_next_one(community):
    li, shop = community.volunteer("Li Wei"), community.merchant("Corner Grocery")
    community.earn(li, 20)
    community.spend(li, shop, 12)
    cutoff = community.today.replace(day=11)
    prepared = community.ledger.prepare_settlement(community.officer, cutoff=cutoff)
    community.ledger.approve_settlement(prepared.id, community.second_officer)
    assert community.unsettled(shop) == 0

    cancelled = community.ledger.cancel_settlement(prepared.id, "wrong cutoff", community.officer)

    assert cancelled.status == "cancelled"
    assert (community.balance(shop), community.unsettled(shop)) == (12, 12)
    community.refuses(
        InvalidState, community.ledger.pay_settlement_line, prepared.id, shop, "T-1",
        community.officer,
    )  # fmt: skip
    again = community.ledger.prepare_settlement(community.officer, cutoff=cutoff)
    assert [(line.merchant_id, line.beans) for line in again.lines] == [(shop, 12)]
    community.check_books()


@pytest.mark.parametrize("state", ["one line paid", "paid", "cancelled"])
def test_a_settlement_with_a_paid_line_or_cancelled_is_not_cancelled(community, state):
    li = community.volunteer("Li Wei")
    shops = [community.merchant("Corner Grocery"), community.merchant("Noodle House")]
    community.earn(li, 20)
    for shop in shops:
        community.spend(li, shop, 5)
    community.donate(10_000)
    ledger = community.ledger
    prepared = ledger.prepare_settlement(community.officer, cutoff=date(2026, 3, 11))
    ledger.approve_settlement(prepared.id, community.second_officer)
    lines = [line.merchant_id for line in prepared.lines]
    paying = {"one line paid": lines[:1], "paid": lines, "cancelled": []}[state]
    for number, merchant_id in enumerate(paying):
        ledger.pay_settlement_line(prepared.id, merchant_id, f"T-{number}", community.officer)
    if state == "cancelled":
        ledger.cancel_settlement(prepared.id, "wrong cutoff", community.officer)

    community.refuses(
        InvalidState, ledger.cancel_settlement, prepared.id, "too late", community.officer
    )


def test_a_cancellation_needs_a_reason_and_a_settlement(community):
    li, shop = community.volunteer("Li Wei"), community.merchant("Corner Grocery")
    community.earn(li, 5)
    community.spend(li, shop, 5)
    prepared = community.ledger.prepare_settlement(community.officer, cutoff=date(2026, 3, 11))

    community.refuses(
        Invalid, community.ledger.cancel_settlement, prepared.id, "", community.officer
    )
    community.refuses(
        NotFound, community.ledger.cancel_settlement, "no-such", "wrong", community.officer
    )
