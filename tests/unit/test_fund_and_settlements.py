"""The fund and monthly settlements (SPEC §2, §4): cash donations go in, and merchants are
paid cash plus a rebate for the beans they redeemed before the cutoff; paid beans are
retired. Cash is int fen; 1 bean = 100 fen; rebates are rounded half-up per line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.errors import (
    DuplicateReceipt,
    FourEyesRequired,
    IdempotencyKeyReused,
    InsufficientFund,
    InvalidState,
    NotFound,
    NothingToSettle,
    ValidationError,
)
from ledger.views import Actor
from tests.scenario import Community

APRIL_CUTOFF = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 1 April 00:00 in Kunming


def donate(community: Community, amount_fen: int, receipt_no: str, **kw):
    values = {
        "donor": "Yunnan Charity Foundation",
        "anonymous": False,
        "received_on": community.today,
    } | kw
    return community.ledger.record_donation(
        amount_fen=amount_fen, receipt_no=receipt_no, by=community.officer, **values
    )


def lines_by_merchant(settlement) -> dict[str, tuple[int, int, int]]:
    return {
        line.merchant_id: (line.beans, line.cash_fen, line.rebate_fen) for line in settlement.lines
    }


# --- donations --------------------------------------------------------------------------------


def test_a_donation_raises_the_fund_balance(community):
    donation = donate(community, 50_000, "R-001")

    assert (donation.amount_fen, donation.receipt_no) == (50_000, "R-001")
    assert donation.received_on == date(2026, 3, 10)
    assert community.ledger.get_fund().balance_fen == 50_000


def test_a_receipt_recorded_twice_with_the_same_values_is_one_donation(community):
    first = donate(community, 50_000, "R-001")
    again = donate(community, 50_000, "R-001")

    assert again == first
    assert community.ledger.get_fund().balance_fen == 50_000


@pytest.mark.parametrize(
    "change", [{"amount_fen": 40_000}, {"donor": "Someone Else"}, {"received_on": date(2026, 3, 9)}]
)
def test_a_receipt_number_names_one_donation_only(community, change):
    donate(community, 50_000, "R-001")
    values = {"amount_fen": 50_000, "receipt_no": "R-001"} | change

    with pytest.raises(DuplicateReceipt):
        donate(community, **values)

    assert community.ledger.get_fund().balance_fen == 50_000


def test_a_duplicate_receipt_is_an_idempotency_key_reused(community):
    donate(community, 50_000, "R-001")

    with pytest.raises(IdempotencyKeyReused):
        donate(community, 1, "R-001")


def test_an_anonymous_donor_needs_no_name(community):
    donate(community, 2_000, "R-002", donor=None, anonymous=True)

    assert community.ledger.get_fund().balance_fen == 2_000


def test_a_named_donation_needs_the_donors_name(community):
    with pytest.raises(ValidationError):
        donate(community, 2_000, "R-002", donor=None, anonymous=False)
    with pytest.raises(ValidationError):
        donate(community, 2_000, "R-002", donor="  ", anonymous=False)

    assert community.ledger.get_fund().balance_fen == 0


@pytest.mark.parametrize("amount_fen", [0, -100])
def test_a_donation_is_a_positive_amount(community, amount_fen):
    with pytest.raises(ValidationError):
        donate(community, amount_fen, "R-003")

    assert community.ledger.get_fund().balance_fen == 0


def test_a_donation_is_received_on_a_date_not_at_a_time(community):
    with pytest.raises(ValidationError):
        donate(community, 100, "R-005", received_on=community.now)


def test_a_donation_needs_a_receipt_number(community):
    with pytest.raises(ValidationError):
        donate(community, 100, "")


def test_a_donation_cannot_be_received_in_the_future(community):
    with pytest.raises(ValidationError):
        donate(community, 100, "R-004", received_on=date(2026, 3, 11))

    # At 17:00 UTC it is already 11 March in Kunming.
    community.clock.set(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))
    assert donate(community, 100, "R-004", received_on=date(2026, 3, 11)).amount_fen == 100


# --- the fund's position ----------------------------------------------------------------------


def test_reading_the_fund_again_reads_only_what_was_recorded_since(community, monkeypatch):
    """The outstanding beans follow the log from where the last reading stopped, which is
    the log's head even when the last bean moved long ago: incidents waiting to be
    verified (events the index does not need) are not read again on every call."""
    ledger = community.ledger
    community.earn(community.volunteer("Li Wei"), 20)
    reporter = community.volunteer("Zhang San")
    ledger.get_fund()
    for n in range(30):
        ledger.submit_incident(reporter, "other", f"report {n}")
    ledger.get_fund()
    head = ledger.recorder.max_notification_id()
    starts = []
    select = ledger.recorder.select_notifications

    def watched(*args, **kwargs):
        starts.append(kwargs["start"])
        return select(*args, **kwargs)

    monkeypatch.setattr(ledger.recorder, "select_notifications", watched)
    assert ledger.get_fund().outstanding_beans == 20
    assert starts == [head]


def test_with_nothing_outstanding_the_coverage_is_none(community):
    position = community.ledger.get_fund()
    assert (position.balance_fen, position.liability_fen, position.coverage) == (0, 0, None)

    donate(community, 10_000, "R-001")

    position = community.ledger.get_fund()
    assert (position.balance_fen, position.liability_fen, position.coverage) == (10_000, 0, None)


def test_the_fund_owes_every_bean_held_with_its_rebate_and_reports_its_coverage(community):
    li, gran = community.volunteer("Li Wei"), community.beneficiary("Granny Zhao")
    shop = community.merchant("Corner Grocery")
    community.earn(li, 20)
    community.give(li, "pool", 5)
    community.spend(li, shop, 5)
    community.ledger.grant_allotments("2026-03", community.coordinator, account_ids=[gran])
    donate(community, 20_000, "R-001")

    position = community.ledger.get_fund()

    # Li 10 + pool 5 + grocer 5 + Granny 100 = 120 beans = 12,000 fen, and the grocer's
    # 10 % rebate on every one of them (the only merchant's rate is the highest): 13,200.
    assert position.outstanding_beans == 120
    assert position.liability_fen == 13_200
    assert position.coverage == Decimal("1.5152")  # 20000 / 13200, half-up to 4 places
    assert position.coverage.as_tuple().exponent == -4
    community.check_books()


def test_coverage_below_one_is_rounded_half_up(community):
    li = community.volunteer("Li Wei")
    community.earn(li, 80)
    donate(community, 1, "R-001")

    # 1 / 8000 = 0.000125 -> 0.0001
    assert community.ledger.get_fund().coverage == Decimal("0.0001")

    donate(community, 4, "R-002")  # 5 / 8000 = 0.000625 -> 0.0006
    assert community.ledger.get_fund().coverage == Decimal("0.0006")


# --- a month of redemptions, settled in April -------------------------------------------------


class March:
    """Two volunteers spend at two merchants in March 2026, and one more at local
    midnight on 1 April; the fund settles March in April.

    * Corner Grocery (10 % rebate): Li 40, Wang 25 less a refund of 5, Li 10 at 23:30
      on 31 March = 70 beans -> 7,000 fen + 700 rebate.
    * Noodle House (12.5 % rebate): Li 3 -> 300 fen + 37.5 -> 38 rebate.
    * Noodle House, 00:30 on 1 April: Wang 6, after the cutoff.
    """

    def __init__(self, community: Community) -> None:
        self.community = c = community
        self.li, self.wang = c.volunteer("Li Wei"), c.volunteer("Wang Fang")
        self.grocer = c.merchant("Corner Grocery")
        self.noodles = c.merchant("Noodle House", category="restaurant", rebate_bps=1250)
        c.earn(self.li, 60)
        c.earn(self.wang, 40)

        c.move_to_local(2026, 3, 12, 18)
        c.spend(self.li, self.grocer, 40)
        self.wangs_shopping = c.spend(self.wang, self.grocer, 25)
        c.refund(self.wangs_shopping, 5)
        c.move_to_local(2026, 3, 20, 12)
        c.spend(self.li, self.noodles, 3)
        c.move_to_local(2026, 3, 31, 23, 30)
        c.spend(self.li, self.grocer, 10)
        c.move_to_local(2026, 4, 1, 0, 30)
        self.after_cutoff = c.spend(self.wang, self.noodles, 6)

        c.move_to_local(2026, 4, 2, 10)
        c.check_books()


@pytest.fixture
def march(community: Community) -> March:
    return March(community)


def test_a_settlement_prepared_in_april_covers_march(community, march):
    settlement = community.ledger.prepare_settlement(community.officer)

    assert settlement.status == "prepared"
    assert settlement.period == "2026-03"
    assert settlement.cutoff == APRIL_CUTOFF
    assert settlement.prepared_by == "fo-1" and settlement.approved_by is None
    assert lines_by_merchant(settlement) == {
        march.grocer: (70, 7_000, 700),
        march.noodles: (3, 300, 38),  # 300 x 12.5 % = 37.5 -> 38
    }
    assert settlement.total_fen == 7_000 + 700 + 300 + 38


def test_the_prepared_beans_are_reserved_and_later_ones_stay_unsettled(community, march):
    community.ledger.prepare_settlement(community.officer)

    assert (community.balance(march.grocer), community.unsettled(march.grocer)) == (70, 0)
    assert (community.balance(march.noodles), community.unsettled(march.noodles)) == (9, 6)
    assert community.outstanding == 100  # nothing is retired until it is paid
    community.check_books()


def test_march_is_approved_paid_and_its_beans_retired(community, march):
    donate(community, 10_000, "R-001")
    prepared = community.ledger.prepare_settlement(community.officer)

    approved = community.ledger.approve_settlement(prepared.id, community.second_officer)
    assert (approved.status, approved.approved_by) == ("approved", "fo-2")

    paid = community.ledger.pay_settlement_line(
        prepared.id, march.grocer, "BANK-0401-1", community.officer
    )
    assert (paid.merchant_id, paid.payment_ref) == (march.grocer, "BANK-0401-1")
    assert paid.paid_at == community.now
    assert community.balance(march.grocer) == 0
    assert community.ledger.get_fund().balance_fen == 10_000 - 7_700
    assert community.outstanding == 100 - 70
    assert community.ledger.get_settlement(prepared.id).status == "approved"  # one line to go

    community.ledger.pay_settlement_line(
        prepared.id, march.noodles, "BANK-0401-2", community.officer
    )

    settlement = community.ledger.get_settlement(prepared.id)
    assert settlement.status == "paid"
    assert [line.payment_ref for line in settlement.lines] == ["BANK-0401-1", "BANK-0401-2"]
    assert community.ledger.get_fund().balance_fen == 10_000 - 8_038
    # Noodle House keeps the 6 beans Wang spent after the cutoff, for May's settlement.
    assert (community.balance(march.noodles), community.unsettled(march.noodles)) == (6, 6)
    assert community.outstanding == 100 - 73
    assert (community.balance(march.li), community.balance(march.wang)) == (7, 14)
    books = community.check_books()
    assert (books.issued, books.retired) == (100, 73)


def test_the_april_beans_are_settled_in_may(community, march):
    community.donate(20_000)
    community.settle()
    community.move_to_local(2026, 5, 3)

    may = community.settle()

    assert may.period == "2026-04"
    assert lines_by_merchant(may) == {march.noodles: (6, 600, 75)}
    assert community.balance(march.noodles) == 0
    assert community.ledger.get_fund().balance_fen == 20_000 - 8_038 - 675
    assert community.check_books().retired == 79


def test_the_cutoff_is_local_midnight_to_the_second(community):
    li, shop = community.volunteer("Li Wei"), community.merchant("Corner Grocery")
    community.earn(li, 3)
    community.clock.set(APRIL_CUTOFF - timedelta(seconds=1))  # 31 March 23:59:59 in Kunming
    last_of_march = community.spend(li, shop, 1)
    community.clock.set(APRIL_CUTOFF)  # 1 April 00:00:00 in Kunming
    first_of_april = community.spend(li, shop, 2)

    settlement = community.ledger.prepare_settlement(community.officer)

    assert (last_of_march.at, first_of_april.at) == (
        APRIL_CUTOFF - timedelta(seconds=1),
        APRIL_CUTOFF,
    )
    assert lines_by_merchant(settlement) == {shop: (1, 100, 10)}
    assert community.unsettled(shop) == 2


def test_the_officer_who_prepared_cannot_approve(community, march):
    prepared = community.ledger.prepare_settlement(community.officer)

    with pytest.raises(FourEyesRequired):
        community.ledger.approve_settlement(prepared.id, Actor("fo-1"))

    assert community.ledger.get_settlement(prepared.id).status == "prepared"


def test_a_settlement_is_approved_once(community, march):
    prepared = community.ledger.prepare_settlement(community.officer)
    community.ledger.approve_settlement(prepared.id, community.second_officer)

    with pytest.raises(InvalidState):
        community.ledger.approve_settlement(prepared.id, Actor("fo-3"))


def test_nothing_is_paid_before_approval(community, march):
    community.donate(10_000)
    prepared = community.ledger.prepare_settlement(community.officer)

    with pytest.raises(InvalidState):
        community.ledger.pay_settlement_line(prepared.id, march.grocer, "BANK-1", community.officer)

    assert community.ledger.get_fund().balance_fen == 10_000
    assert community.balance(march.grocer) == 70


def test_a_line_is_paid_only_when_the_fund_covers_cash_and_rebate(community, march):
    community.donate(7_699)  # one fen short of the grocer's 7,000 + 700
    prepared = community.ledger.prepare_settlement(community.officer)
    community.ledger.approve_settlement(prepared.id, community.second_officer)

    with pytest.raises(InsufficientFund):
        community.ledger.pay_settlement_line(prepared.id, march.grocer, "BANK-1", community.officer)

    assert community.ledger.get_fund().balance_fen == 7_699
    assert (community.balance(march.grocer), community.unsettled(march.grocer)) == (70, 0)
    assert community.ledger.get_settlement(prepared.id).lines[0].paid_at is None

    community.donate(1)
    community.ledger.pay_settlement_line(prepared.id, march.grocer, "BANK-1", community.officer)

    assert community.ledger.get_fund().balance_fen == 0
    assert community.balance(march.grocer) == 0
    community.check_books()


def test_a_line_is_paid_once(community, march):
    community.donate(20_000)
    prepared = community.ledger.prepare_settlement(community.officer)
    community.ledger.approve_settlement(prepared.id, community.second_officer)
    community.ledger.pay_settlement_line(prepared.id, march.grocer, "BANK-1", community.officer)

    with pytest.raises(InvalidState):
        community.ledger.pay_settlement_line(prepared.id, march.grocer, "BANK-1", community.officer)
    with pytest.raises(InvalidState):
        community.ledger.pay_settlement_line(prepared.id, march.grocer, "BANK-9", community.officer)

    assert community.ledger.get_fund().balance_fen == 20_000 - 7_700
    assert community.check_books().retired == 70


def test_a_merchant_without_a_line_cannot_be_paid(community, march):
    community.donate(20_000)
    stranger = community.merchant("Pharmacy", category="pharmacy")
    prepared = community.ledger.prepare_settlement(community.officer)
    community.ledger.approve_settlement(prepared.id, community.second_officer)

    with pytest.raises(NotFound):
        community.ledger.pay_settlement_line(prepared.id, stranger, "BANK-1", community.officer)

    assert community.ledger.get_fund().balance_fen == 20_000


def test_with_nothing_to_settle_no_settlement_is_prepared(community):
    with pytest.raises(NothingToSettle):
        community.ledger.prepare_settlement(community.officer)

    li, shop = community.volunteer("Li Wei"), community.merchant("Corner Grocery")
    community.earn(li, 10)
    community.spend(li, shop, 10)  # in March: the default cutoff is 1 March

    with pytest.raises(NothingToSettle):
        community.ledger.prepare_settlement(community.officer)


def test_a_month_is_settled_once(community, march):
    community.ledger.prepare_settlement(community.officer)

    with pytest.raises(NothingToSettle):
        community.ledger.prepare_settlement(Actor("fo-3"))


def test_a_fully_refunded_month_has_nothing_to_settle(community):
    li, shop = community.volunteer("Li Wei"), community.merchant("Corner Grocery")
    community.earn(li, 10)
    bread = community.spend(li, shop, 10)
    community.refund(bread, 10)
    community.move_to_local(2026, 4, 2)

    with pytest.raises(NothingToSettle):
        community.ledger.prepare_settlement(community.officer)
    assert community.balance(li) == 10


def test_a_refund_of_beans_promised_to_a_settlement_is_owed_by_the_shop(community, march):
    """Wang's sale is in the prepared line (70 beans, as prepared); the shop refunds 5 of
    it within the window and owes them: its next line is 5 beans smaller."""
    prepared = community.ledger.prepare_settlement(community.officer)

    community.refund(march.wangs_shopping, 5)

    assert (community.balance(march.grocer), community.balance(march.wang)) == (65, 19)
    assert community.unsettled(march.grocer) == -5
    assert lines_by_merchant(community.ledger.get_settlement(prepared.id))[march.grocer][0] == 70
    community.check_books()


def test_beans_redeemed_after_the_cutoff_can_still_be_refunded(community, march):
    community.ledger.prepare_settlement(community.officer)

    community.refund(march.after_cutoff, 4)

    assert (community.balance(march.noodles), community.unsettled(march.noodles)) == (5, 2)
    assert community.balance(march.wang) == 14 + 4
    community.check_books()


def test_a_settlement_repeated_with_its_key_is_prepared_once(community, march):
    first = community.ledger.prepare_settlement(community.officer, key="2026-03")
    again = community.ledger.prepare_settlement(community.officer, key="2026-03")

    assert again == first
    assert community.unsettled(march.noodles) == 6  # reserved once, not twice

    with pytest.raises(IdempotencyKeyReused):
        community.ledger.prepare_settlement(
            community.officer, key="2026-03", cutoff=date(2026, 3, 15)
        )


def test_a_chosen_cutoff_settles_only_what_came_before_it(community, march):
    mid_march = community.ledger.prepare_settlement(community.officer, cutoff=date(2026, 3, 15))

    assert mid_march.period == "2026-03"
    assert mid_march.cutoff == datetime(2026, 3, 14, 16, 0, tzinfo=UTC)
    assert lines_by_merchant(mid_march) == {march.grocer: (60, 6_000, 600)}

    rest = community.ledger.prepare_settlement(community.officer)
    assert lines_by_merchant(rest) == {march.grocer: (10, 1_000, 100), march.noodles: (3, 300, 38)}


def test_a_cutoff_after_tomorrow_is_refused(community, march):
    with pytest.raises(ValidationError):
        community.ledger.prepare_settlement(
            community.officer, cutoff=community.today + timedelta(days=2)
        )


# --- rounding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rebate_bps", "beans", "rebate_fen"),
    [
        (1000, 7, 70),  # 700 x 10 % exactly
        (1250, 3, 38),  # 37.5 rounds up
        (1250, 1, 13),  # 12.5 rounds up
        (1250, 5, 63),  # 62.5 rounds up
        (333, 1, 3),  # 3.33 rounds down
        (1, 49, 0),  # 0.49 rounds down
        (1, 50, 1),  # 0.5 rounds up
        (0, 9, 0),
        (10_000, 2, 200),
    ],
)
def test_each_lines_rebate_is_rounded_half_up_to_the_fen(community, rebate_bps, beans, rebate_fen):
    li = community.volunteer("Li Wei")
    shop = community.merchant("Shop", rebate_bps=rebate_bps)
    community.earn(li, beans)
    community.spend(li, shop, beans)
    community.move_to_local(2026, 4, 1)

    settlement = community.ledger.prepare_settlement(community.officer)

    assert lines_by_merchant(settlement) == {shop: (beans, beans * 100, rebate_fen)}
    assert settlement.total_fen == beans * 100 + rebate_fen


def test_the_total_is_the_sum_of_rounded_lines(community):
    li = community.volunteer("Li Wei")
    tea = community.merchant("Tea", rebate_bps=1250)
    buns = community.merchant("Buns", rebate_bps=1250)
    community.earn(li, 2)
    community.spend(li, tea, 1)
    community.spend(li, buns, 1)
    community.move_to_local(2026, 4, 1)
    community.donate(226)

    settlement = community.settle()

    # Each 12.5 fen rounds to 13: 2 x (100 + 13) = 226, not 200 + round(25.0) = 225.
    assert settlement.total_fen == 226
    assert community.ledger.get_fund().balance_fen == 0
    assert community.check_books().retired == 2
