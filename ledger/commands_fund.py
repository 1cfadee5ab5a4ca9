"""The fund: cash donations, monthly settlements with merchants, and the fund's
position (SPEC §4)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID, uuid4

from ledger.core import LedgerCore, check_text, optional_text
from ledger.errors import (
    DuplicateReceipt,
    NothingToSettle,
    PaymentReferenceUsed,
    ValidationError,
)
from ledger.fund import (
    MAX_DONATION_FEN,
    MAX_DONOR_NAME,
    MAX_REASON,
    MAX_RECEIPT_NO,
    Donation,
    Fund,
    PaymentReference,
    Settlement,
    payment_reference_key,
)
from ledger.ids import FUND_ID, derived_id
from ledger.merchants import Merchant
from ledger.money import cash_fen, check_fen, coverage, liability_fen, rebate_fen
from ledger.views import (
    Actor,
    DonationView,
    FundPosition,
    LinePaidView,
    SettlementLine,
    SettlementView,
)


class FundCommands(LedgerCore):
    def record_donation(
        self,
        *,
        donor: str | None,
        anonymous: bool,
        amount_fen: int,
        received_on: date,
        receipt_no: str,
        by: Actor,
    ) -> DonationView:
        """Record a cash donation into the fund. The receipt number is unique: the same
        donation recorded again returns the first record; a different donation under the
        same receipt number raises DuplicateReceipt."""
        if check_fen(amount_fen) > MAX_DONATION_FEN:
            raise ValidationError(f"amount_fen may be at most {MAX_DONATION_FEN}")
        receipt_no = check_text(receipt_no, "receipt_no", max_length=MAX_RECEIPT_NO)
        donor_name = (
            optional_text(donor, "donor", max_length=MAX_DONOR_NAME) or ""
            if anonymous
            else check_text(donor, "donor", max_length=MAX_DONOR_NAME)
        )
        if not isinstance(received_on, date) or isinstance(received_on, datetime):
            raise ValidationError("received_on must be a date")

        def attempt() -> DonationView:
            # A receipt number names one live donation: the first record, or, once that
            # was reversed (recorded by mistake), the next one (donation_ids).
            record_id = None
            for candidate in donation_ids(receipt_no):
                first = self.find_existing(candidate, Donation)
                if first is None:
                    record_id = candidate
                    break
                if first.reversed:
                    continue
                first_donor = self.personal.get(str(first.id)).get("donor", "")
                if (first_donor, first.anonymous, first.amount_fen, first.received_on) != (
                    donor_name,
                    bool(anonymous),
                    amount_fen,
                    received_on,
                ):
                    raise DuplicateReceipt(
                        f"receipt {receipt_no} is already recorded for another donation"
                    )
                return donation_view(first)
            if record_id is None:
                raise ValidationError(f"receipt {receipt_no} was reversed too many times")
            at = self.now()
            if received_on > date.fromisoformat(self.day_of(at)):
                raise ValidationError("received_on is in the future")
            fund = self.load_or_open_fund(at)
            self.personal.put(str(record_id), {"donor": donor_name or None})
            donation = Donation._create(
                Donation.Received,
                id=record_id,
                timestamp=at,
                anonymous=bool(anonymous),
                amount_fen=amount_fen,
                received_on=received_on,
                receipt_no=receipt_no,
                by=by.name,
            )
            fund.receive(donation.id, amount_fen, at)
            self.save(donation, fund)
            return donation_view(donation)

        return self.run(attempt, "recording a donation")

    def reverse_donation(self, donation_id: object, reason: str, by: Actor) -> DonationView:
        """Reverse a donation recorded by mistake (a mistyped amount, a wrong receipt):
        a new entry that takes its cash back out of the fund, with a reason, by another
        fund officer than the one who recorded it. The receipt number may then be
        recorded again, rightly.

        Raises NotFound, FourEyesRequired (the officer who recorded it), InvalidState
        (already reversed), InsufficientFund (the fund no longer holds that cash),
        ValidationError (no reason).
        """
        reason = check_text(reason, "reason", max_length=MAX_REASON)

        def attempt() -> DonationView:
            at = self.now()
            donation = self.load(donation_id, Donation, "donation")
            fund = self.load_or_open_fund(at)
            donation.reverse(by.name, reason, at)
            fund.take_back(donation.id, donation.amount_fen, at)
            self.save(donation, fund)
            return donation_view(donation)

        return self.run(attempt, "reversing a donation")

    def find_donation(self, receipt_no: str) -> DonationView | None:
        """The donation a receipt number names now: the last one recorded under it (the
        live one, or the last reversed one when none was recorded again); None if none."""
        found = None
        for candidate in donation_ids(receipt_no.strip()):
            donation = self.find_existing(candidate, Donation)
            if donation is None:
                break
            found = donation
        return donation_view(found) if found is not None else None

    def settlement_cutoffs(self) -> tuple[date, date]:
        """A settlement's cutoff today: the default (the first day of this month) and the
        latest allowed (tomorrow), local dates."""
        today = date.fromisoformat(self.day_of(self.now()))
        return today.replace(day=1), today + timedelta(days=1)

    def prepare_settlement(
        self, by: Actor, *, cutoff: date | None = None, key: str | None = None
    ) -> SettlementView:
        """Prepare a settlement of every merchant's net redeemed beans recorded before
        ``cutoff`` (a local date; default the first day of the current month) and not
        yet settled. The beans are reserved for it, so refunds cannot spend them.

        Raises NothingToSettle when no merchant has such beans.
        """
        record_id = derived_id("settlement", by.name, key) if key is not None else uuid4()

        def cutoff_day_now() -> date:
            default, latest = self.settlement_cutoffs()
            day = cutoff or default
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValidationError("the cutoff must be a date")
            if day > latest:
                raise ValidationError("the cutoff must be a date no later than tomorrow")
            return day

        replay = self.keyed(
            key,
            record_id,
            Settlement,
            lambda first: first.cutoff == self.calendar.start_of_day(cutoff_day_now()),
            settlement_view,
            "settlement",
        )

        def attempt() -> SettlementView:
            cutoff_day = cutoff_day_now()
            at = self.now()
            merchants = [self.load(m, Merchant, "merchant") for m in self.index.ids_of("merchant")]
            lines, reserved = [], []
            for merchant in merchants:
                beans = merchant.reserve_for_settlement(record_id, cutoff_day.isoformat(), at)
                if beans:
                    cash = cash_fen(beans, self.base_rules.bean_value_fen)
                    lines.append(
                        {
                            "merchant_id": str(merchant.id),
                            "beans": beans,
                            "cash_fen": cash,
                            "rebate_fen": rebate_fen(cash, merchant.rebate_bps),
                        }
                    )
                    reserved.append(merchant)
            if not lines:
                raise NothingToSettle(f"no merchant holds unsettled beans from before {cutoff_day}")
            period = (cutoff_day - timedelta(days=1)).strftime("%Y-%m")
            settlement = Settlement._create(
                Settlement.Prepared,
                id=record_id,
                timestamp=at,
                period=period,
                cutoff=self.calendar.start_of_day(cutoff_day),
                lines=lines,
                by=by.name,
            )
            self.save(settlement, *reserved)
            return settlement_view(settlement)

        return self.run(attempt, "preparing a settlement", replay)

    def approve_settlement(self, settlement_id: object, by: Actor) -> SettlementView:
        """Approve a prepared settlement; FourEyesRequired if ``by`` prepared it."""

        def attempt() -> SettlementView:
            settlement = self.load(settlement_id, Settlement, "settlement")
            settlement.approve(by.name, self.now())
            self.save(settlement)
            return settlement_view(settlement)

        return self.run(attempt, "approving a settlement")

    def cancel_settlement(self, settlement_id: object, reason: str, by: Actor) -> SettlementView:
        """Cancel a prepared or approved settlement before any of its lines is paid (a
        wrong cutoff, a merchant to be checked first): each merchant's reserved beans go
        back to its unsettled beans, for the next settlement. Any fund officer may cancel;
        nothing is paid, so no second officer is needed.

        Raises NotFound, InvalidState (a line is paid, or it is paid or cancelled already),
        ValidationError (no reason).
        """
        reason = check_text(reason, "reason", max_length=MAX_REASON)

        def attempt() -> SettlementView:
            at = self.now()
            settlement = self.load(settlement_id, Settlement, "settlement")
            settlement.cancel(by.name, reason, at)
            cutoff_day = self.day_of(settlement.cutoff)
            merchants = []
            for line in settlement.lines:
                merchant = self.load(line["merchant_id"], Merchant, "merchant")
                merchant.release_settlement(settlement.id, cutoff_day, line["beans"], at)
                merchants.append(merchant)
            self.save(settlement, *merchants)
            return settlement_view(settlement)

        return self.run(attempt, "cancelling a settlement")

    def pay_settlement_line(
        self, settlement_id: object, merchant_id: object, payment_ref: str, by: Actor
    ) -> LinePaidView:
        """Record that the fund paid one merchant's line (cash + rebate): the fund's
        balance drops and the merchant's beans are retired. A line is paid once.

        Raises InvalidState (not approved, or already paid), InsufficientFund,
        PaymentReferenceUsed (the reference already paid another line of the fund).
        """
        payment_ref = check_text(payment_ref, "payment_ref", max_length=100)
        reference_id = derived_id("payment-reference", payment_reference_key(payment_ref))

        def attempt() -> LinePaidView:
            at = self.now()
            fund = self.load_or_open_fund(at)
            merchant = self.load(merchant_id, Merchant, "merchant")
            # Read the settlement last: if another officer paid this line meanwhile, the
            # settlement says so (rather than the merchant's reserve or the fund).
            settlement = self.load(settlement_id, Settlement, "settlement")
            line = settlement.check_can_pay(str(merchant.id))
            if self.exists(reference_id):
                raise PaymentReferenceUsed(
                    f"the payment reference {payment_ref} already paid another settlement line"
                )
            fund.pay(settlement.id, line["merchant_id"], line["cash_fen"] + line["rebate_fen"], at)
            merchant.debit_settled(
                amount=line["beans"], ref=settlement.id, at=at, day=self.day_of(at)
            )
            settlement.mark_paid(line["merchant_id"], payment_ref, by.name, at)
            reference = PaymentReference._create(
                PaymentReference.Used,
                id=reference_id,
                timestamp=at,
                settlement_id=str(settlement.id),
                merchant_id=line["merchant_id"],
            )
            self.save(settlement, fund, merchant, reference)
            return LinePaidView(str(settlement.id), line["merchant_id"], at, payment_ref)

        return self.run(attempt, "paying a settlement line")

    def get_settlement(self, settlement_id: object) -> SettlementView:
        return settlement_view(self.load(settlement_id, Settlement, "settlement"))

    def get_fund(self) -> FundPosition:
        """The fund's cash balance, what paying every outstanding bean will cost it
        (cash and rebate, :func:`ledger.money.liability_fen`), and the ratio."""
        fund = self.find(FUND_ID, Fund)
        balance = fund.balance_fen if fund else 0
        outstanding, merchants = self.index.holdings()
        liability = liability_fen(outstanding, merchants, self.base_rules.bean_value_fen)
        return FundPosition(balance, liability, coverage(balance, liability), outstanding)


def donation_ids(receipt_no: str, most: int = 100) -> list[UUID]:
    """The ids a receipt number's donations take, in turn: the first record's, then one
    more for each time the one before was reversed."""
    first = derived_id("donation", receipt_no)
    return [first, *(derived_id("donation", receipt_no, n) for n in range(2, most + 1))]


def donation_view(donation: Donation) -> DonationView:
    return DonationView(
        str(donation.id),
        donation.amount_fen,
        donation.receipt_no,
        donation.received_on,
        reversed=donation.reversed,
        recorded_by=donation.by,
    )


def settlement_view(settlement: Settlement) -> SettlementView:
    return SettlementView(
        id=str(settlement.id),
        period=settlement.period,
        cutoff=settlement.cutoff,
        status=settlement.status,
        lines=[SettlementLine(**line) for line in settlement.lines],
        total_fen=settlement.total_fen,
        prepared_by=settlement.prepared_by,
        approved_by=settlement.approved_by,
    )
