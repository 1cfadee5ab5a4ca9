"""Spending beans at merchants: redemptions by code or card, payments by merchant code,
and refunds (SPEC §4, §5)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from uuid import uuid4

from ledger import codes
from ledger.accounts import Account, Beneficiary, Flow, Volunteer
from ledger.commands_members import MemberCommands
from ledger.core import as_uuid, optional_text
from ledger.errors import (
    CodeExpired,
    CodeUsed,
    IdempotencyKeyReused,
    InvalidCode,
    LimitExceeded,
    MerchantNotAllowed,
    NotFound,
    PinRequired,
)
from ledger.ids import derived_id
from ledger.merchants import Merchant
from ledger.money import check_beans
from ledger.records import PaymentCodeUsed, Redemption
from ledger.rules import Rules
from ledger.views import PaymentCodeState, RedemptionView, RefundView


class PaymentCommands(MemberCommands):
    def redeem(
        self,
        merchant_id: object,
        code: str,
        amount: int,
        *,
        pin: str | None = None,
        note: str | None = None,
        key: str | None = None,
    ) -> RedemptionView:
        """A merchant's point of sale takes ``amount`` beans from the customer who shows
        ``code``: a volunteer's payment code or a beneficiary's card (with its PIN).

        With ``key``, a repeat returns the first redemption and moves nothing.
        Raises InvalidCode, CodeExpired, CodeUsed, CardRevoked, PinRequired, WrongPin /
        PinLocked,
        MerchantNotAllowed, MerchantSuspended, LimitExceeded, InsufficientBalance,
        IdempotencyKeyReused.
        """
        check_beans(amount)
        note = optional_text(note, "note", max_length=200)
        kind = codes.classify_code(code)
        if kind not in ("payment", "card"):
            raise InvalidCode("show a volunteer payment code or a beneficiary card")
        merchant_uuid = as_uuid(merchant_id, "merchant")
        fingerprint = _fingerprint("redeem", _digits(code), amount, note)
        record_id = derived_id("redemption", merchant_uuid, key) if key is not None else uuid4()
        replay = self.payment_replay(key, record_id, fingerprint)

        def attempt() -> RedemptionView:
            at = self.now()
            rules = self.rules_at(at)  # read once: the rules of this payment's moment
            self.check_amount(amount, rules)
            merchant = self.load(merchant_uuid, Merchant, "merchant")
            merchant.check_active()
            marker = None
            if kind == "payment":
                claims = codes.verify_payment_code(
                    self.keyring, code, at, self.base_rules.payment_code_ttl_seconds
                )
                payer: Account = self.volunteer_for_payment_code(claims)
                marker_id = derived_id("payment-code", claims.code)
                if self.exists(marker_id):
                    raise CodeUsed("this payment code was already used; show a fresh one")
                marker = PaymentCodeUsed._create(
                    PaymentCodeUsed.Used, id=marker_id, timestamp=at, redemption_id=str(record_id)
                )
            else:
                payer = self.beneficiary_for_card(code)
                self.check_card_spend(payer, merchant, amount, pin, at, rules)
            redemption = self.move_to_merchant(
                record_id, payer, merchant, amount, kind, note, fingerprint, at
            )
            self.save(redemption, marker, payer, merchant)
            return redemption_view(redemption)

        return self.run(attempt, "redeeming", replay)

    def pay_merchant(
        self, payer_id: object, merchant_code: str, amount: int, *, key: str | None = None
    ) -> RedemptionView:
        """A volunteer scans a merchant's counter code and pays ``amount`` beans; the
        merchant's screen shows the payment once it is recorded here."""
        check_beans(amount)
        payer_uuid = as_uuid(payer_id, "volunteer account")
        fingerprint = _fingerprint("pay", _digits(merchant_code), amount, None)
        record_id = derived_id("payment", payer_uuid, key) if key is not None else uuid4()
        replay = self.payment_replay(key, record_id, fingerprint)

        def attempt() -> RedemptionView:
            at = self.now()
            self.check_amount(amount, self.rules_at(at))
            merchant = self.merchant_for_code(merchant_code)
            merchant.check_active()
            payer = self.load(payer_uuid, Volunteer, "volunteer account")
            redemption = self.move_to_merchant(
                record_id, payer, merchant, amount, "merchant_code", None, fingerprint, at
            )
            self.save(redemption, payer, merchant)
            return redemption_view(redemption)

        return self.run(attempt, "paying a merchant", replay)

    def refund(
        self, redemption_id: object, merchant_id: object, amount: int, *, key: str | None = None
    ) -> RefundView:
        """The merchant gives back part or all of one of its redemptions to the payer.

        Raises NotFound (also for another merchant's redemption), RefundWindowClosed,
        RefundExceedsRedemption, InsufficientBalance (the merchant's unsettled beans).
        """
        check_beans(amount)
        merchant_uuid = as_uuid(merchant_id, "merchant")

        def merchants_redemption() -> Redemption:
            redemption = self.load(redemption_id, Redemption, "redemption")
            if redemption.merchant_id != str(merchant_uuid):
                raise NotFound(f"no redemption {redemption_id} at this merchant")
            return redemption

        def replay() -> RefundView | None:
            redemption = merchants_redemption()
            if key not in redemption.refunds:
                return None
            refund_id, first_amount = redemption.refunds[key]
            if first_amount != amount:
                raise IdempotencyKeyReused("this refund key was used for another amount")
            return RefundView(refund_id, str(redemption.id), first_amount)

        def attempt() -> RefundView:
            payer_id = merchants_redemption().payer_id
            merchant = self.load(merchant_uuid, Merchant, "merchant")
            payer = self.load_account(payer_id)
            # Read the redemption again, last: if a concurrent refund of it committed
            # meanwhile, its own limits are what refuse this one.
            redemption = self.load(redemption_id, Redemption, "redemption")
            at = self.now()
            redemption.check_refund(amount, at, self.rules_at(at).refund_window_days)
            refund_id = str(
                derived_id("refund", redemption.id, key) if key is not None else uuid4()
            )
            self.transfer(Flow.REFUND, amount, merchant, payer, redemption.id, at)
            redemption.refund(refund_id, amount, key, at)
            self.save(redemption, merchant, payer)
            return RefundView(refund_id, str(redemption.id), amount)

        return self.run(attempt, "refunding", replay if key is not None else None)

    def payment_code_state(self, account_id: object, code: str) -> PaymentCodeState:
        """What became of one of the volunteer's own payment codes: ``used`` (with the
        redemption), ``expired``, ``live``, or ``unknown`` (not a code of this account,
        or not a code at all: the answer says nothing about other people's codes)."""
        volunteer = self.load(account_id, Volunteer, "volunteer account")
        try:
            codes.verify_payment_code(
                self.keyring, code, self.now(), self.rules.payment_code_ttl_seconds
            )
            state = "live"
        except CodeExpired:
            state = "expired"
        except InvalidCode:
            return PaymentCodeState("unknown")
        digits = _digits(code)
        if digits[2:10] != self._number_of(volunteer):
            return PaymentCodeState("unknown")
        marker = self.find_existing(derived_id("payment-code", digits), PaymentCodeUsed)
        if marker is None:
            return PaymentCodeState(state)
        return PaymentCodeState("used", self.get_redemption(marker.redemption_id))

    def get_redemption(self, redemption_id: object) -> RedemptionView:
        return redemption_view(self.load(redemption_id, Redemption, "redemption"))

    # --- shared steps ------------------------------------------------------------------

    def check_amount(self, amount: int, rules: Rules) -> None:
        """The per-transaction maximum of ``rules`` (those in force at the payment)."""
        check_beans(amount)
        most = rules.max_redemption
        if amount > most:
            raise LimitExceeded(
                f"at most {most} beans per transaction",
                limit="per_transaction",
                limit_beans=most,
            )

    def payment_replay(self, key: str | None, record_id, fingerprint: str):
        return self.keyed(
            key,
            record_id,
            Redemption,
            lambda first: first.fingerprint == fingerprint,
            redemption_view,
            "payment",
        )

    def check_card_spend(
        self,
        payer: Beneficiary,
        merchant: Merchant,
        amount: int,
        pin: str | None,
        at: datetime,
        rules: Rules,
    ) -> None:
        """The beneficiary rules of ``rules`` (those in force at ``at``): allowed
        category, PIN (recording wrong tries), daily limit."""
        if merchant.category not in rules.beneficiary_categories:
            raise MerchantNotAllowed(
                f"beneficiary cards are for {', '.join(rules.beneficiary_categories)} shops"
            )
        if payer.has_pin:
            payer.check_pin_not_locked()
            if pin is None or not str(pin).strip():
                # A till that forgot to ask: no try is used up, nothing is recorded.
                raise PinRequired("this card has a PIN: ask the cardholder for it")
            good = self.pin_matches(payer, pin)
            if not good:
                error = payer.record_wrong_pin(self.base_rules.pin_max_attempts, at)
                self.save(payer)  # the wrong try counts even though the payment fails
                raise error
        payer.check_daily_limit(amount, self.day_of(at), rules.beneficiary_daily_limit)

    def move_to_merchant(
        self,
        record_id,
        payer: Account,
        merchant: Merchant,
        amount: int,
        method: str,
        note: str | None,
        fingerprint: str,
        at,
    ) -> Redemption:
        self.transfer(Flow.REDEMPTION, amount, payer, merchant, record_id, at)
        day = self.day_of(at)
        return Redemption._create(
            Redemption.Made,
            id=record_id,
            timestamp=at,
            payer_id=str(payer.id),
            merchant_id=str(merchant.id),
            amount=amount,
            method=method,
            note=note,
            fingerprint=fingerprint,
            day=day,
        )


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


def redemption_view(redemption: Redemption) -> RedemptionView:
    return RedemptionView(
        id=str(redemption.id),
        payer_id=redemption.payer_id,
        merchant_id=redemption.merchant_id,
        amount=redemption.amount,
        refunded=redemption.refunded,
        method=redemption.method,
        at=redemption.at,
    )


def _digits(code: str) -> str:
    return "".join(ch for ch in str(code) if ch not in " -")
