"""The same accounting stories, told on memory, SQLite and PostgreSQL, end the same way.

Each story runs on a fresh database of each kind (the ``database_url`` fixture) and checks
the balances a person would see plus the double-entry books; ``test_a_story_reads_back``
reopens the database to show that what was saved is what comes back.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ledger.errors import (
    AwardCapExceeded,
    CodeUsed,
    FourEyesRequired,
    InsufficientBalance,
    InsufficientFund,
    RefundExceedsRedemption,
)
from ledger.persistence import open_ledger
from ledger.views import Actor
from tests.scenario import Community


@pytest.fixture
def community(database_url):
    community = Community.on(database_url)
    yield community
    community.close()


def test_a_month_of_earning_spending_refunding_and_settling(community):
    li, wang = community.volunteer("李伟"), community.volunteer("王芳")
    zhao = community.beneficiary("赵奶奶")
    grocer = community.merchant("社区便利店", "grocery")
    noodles = community.merchant("米线馆", "restaurant", rebate_bps=1250)

    community.earn(li, 10)  # a verified fire report
    community.earn(wang, 30)
    sale = community.spend(li, grocer, 7)
    community.refund(sale, 2)
    community.spend(wang, noodles, 3)
    community.give(wang, zhao, 5)
    community.ledger.grant_allotments("2026-03", community.coordinator)
    community.spend_card(zhao, grocer, 40)
    community.donate(100_00)

    assert community.balance(li) == 5
    assert community.balance(wang) == 22
    assert community.balance(zhao) == 65
    assert community.balance(grocer) == 45
    assert community.balance(noodles) == 3

    community.move_to_local(2026, 4, 2)
    settlement = community.settle()
    lines = {
        line.merchant_id: (line.beans, line.cash_fen, line.rebate_fen) for line in settlement.lines
    }
    assert lines[grocer] == (45, 4500, 450)
    assert lines[noodles] == (3, 300, 38)  # 300 fen x 12.5 % = 37.5, rounded half-up
    assert community.balance(grocer) == community.balance(noodles) == 0
    fund = community.ledger.get_fund()
    assert fund.balance_fen == 100_00 - 4500 - 450 - 300 - 38
    assert fund.outstanding_beans == 5 + 22 + 65
    books = community.check_books()
    assert books.retired == 48


def test_refusals_leave_the_books_untouched(community):
    li = community.volunteer("李伟")
    shop = community.merchant("社区便利店")
    community.earn(li, 10)
    code = community.payment_code(li)
    community.spend(li, shop, 4, code=code)
    with pytest.raises(CodeUsed):
        community.spend(li, shop, 1, code=code)
    with pytest.raises(InsufficientBalance):
        community.spend(li, shop, 7)
    sale = community.spend(li, shop, 6)
    with pytest.raises(RefundExceedsRedemption):
        community.refund(sale, 7)
    community.earn(li, 100)
    community.earn(li, 90)
    with pytest.raises(AwardCapExceeded):
        community.earn(li, 1)
    assert community.balance(li) == 190
    assert community.balance(shop) == 10
    community.check_books()


def test_settlement_rules_hold_on_every_database(community):
    li = community.volunteer("李伟")
    shop = community.merchant("社区便利店")
    community.earn(li, 50)
    community.spend(li, shop, 50)
    community.move_to_local(2026, 4, 1)
    ledger = community.ledger
    settlement = ledger.prepare_settlement(community.officer)
    with pytest.raises(FourEyesRequired):
        ledger.approve_settlement(settlement.id, community.officer)
    ledger.approve_settlement(settlement.id, community.second_officer)
    with pytest.raises(InsufficientFund):
        ledger.pay_settlement_line(settlement.id, shop, "BANK-1", community.officer)
    community.donate(55_00)
    ledger.pay_settlement_line(settlement.id, shop, "BANK-1", community.officer)
    assert ledger.get_fund().balance_fen == 0
    assert ledger.get_settlement(settlement.id).status == "paid"
    community.check_books()


@pytest.mark.parametrize(
    "url_fixture", ["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)]
)
def test_a_story_reads_back_after_reopening(request, url_fixture):
    """(An in-memory ledger does not outlive its process, so only the databases.)"""
    database_url = request.getfixturevalue(url_fixture)
    community = Community.on(database_url)
    li = community.volunteer("李伟")
    zhao = community.beneficiary("赵奶奶")
    shop = community.merchant("社区便利店")
    community.earn(li, 20)
    code = community.payment_code(li)
    sale = community.spend(li, shop, 8, key="till-1/0001", code=code)
    community.give(li, zhao, 2, key="gift-1")
    donation = dict(
        donor="金沙社区基金会",
        anonymous=False,
        amount_fen=10_00,
        received_on=community.today,
        receipt_no="R-2026-0001",
        by=Actor("fo-1"),
    )
    community.ledger.record_donation(**donation)
    community.close()

    again = open_ledger(database_url, clock=community.clock, create_tables=True)
    try:
        assert again.get_balance(li) == 10
        assert again.get_balance(zhao) == 2
        assert again.get_merchant(shop).unsettled_beans == 8
        assert again.get_redemption(sale.id).amount == 8
        # Repeats after a restart return the first result and move nothing.
        assert again.redeem(shop, code, 8, key="till-1/0001").id == sale.id
        assert again.give(li, zhao, 2, key="gift-1").amount == 2
        assert again.record_donation(**donation).amount_fen == 10_00
        assert again.get_balance(li) == 10
        assert again.get_fund().balance_fen == 10_00
        assert again.get_fund().outstanding_beans == 20
        assert again.get_fund().coverage is not None
    finally:
        again.close()


def test_time_zone_days_are_the_same_on_every_database(community):
    """Awards just before and just after local midnight (16:00 UTC) count on two days."""
    li = community.volunteer("李伟")
    community.move_to_local(2026, 3, 10, 23, 59)
    community.earn(li, 200)
    community.advance(minutes=1)  # 00:00 on the 11th in Kunming, still the 10th in UTC
    assert community.now.date() == date(2026, 3, 10)
    community.earn(li, 200)
    assert community.balance(li) == 400
    community.advance(hours=23, minutes=59)
    with pytest.raises(AwardCapExceeded):
        community.earn(li, 1)
    community.advance(minutes=1)
    community.earn(li, 1)
    assert community.now - community.local(2026, 3, 12, 0, 0) == timedelta(0)
