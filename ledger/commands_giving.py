"""Gifts, the gift pool, corrections and monthly allotments (SPEC §3)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from ledger.accounts import ISSUANCE, Beneficiary, Flow, Volunteer
from ledger.calendar import parse_period, previous_period
from ledger.core import LedgerCore, as_uuid, check_text, optional_text
from ledger.credits import CreditRecord
from ledger.errors import (
    FourEyesRequired,
    LimitExceeded,
    PeriodNotOpen,
    SelfVerification,
    UnknownCredit,
    ValidationError,
)
from ledger.ids import derived_id
from ledger.money import check_beans
from ledger.records import Allotment, Correction, Gift, PoolAllocation
from ledger.views import (
    Actor,
    AllocationView,
    AllotmentPlan,
    AllotmentRun,
    CorrectionView,
    GiftView,
    canonical_id,
)

log = logging.getLogger(__name__)


class GivingCommands(LedgerCore):
    def give(
        self,
        from_id: object,
        to: object,
        amount: int,
        *,
        message: str | None = None,
        key: str | None = None,
    ) -> GiftView:
        """A volunteer gives beans to a beneficiary (by account id) or to ``"pool"``.

        Raises InsufficientBalance, NotFound, IdempotencyKeyReused.
        """
        check_beans(amount)
        message = optional_text(message, "message", max_length=200)
        giver_id = as_uuid(from_id, "volunteer account")
        to_pool = to == "pool"
        to_id = "pool" if to_pool else str(as_uuid(to, "beneficiary account"))
        record_id = derived_id("gift", giver_id, key) if key is not None else uuid4()

        replay = self.keyed(
            key,
            record_id,
            Gift,
            lambda g: ("pool" if g.to_pool else g.to_id, g.amount) == (to_id, amount),
            gift_view,
            "gift",
        )

        def attempt() -> GiftView:
            at = self.now()
            giver = self.load(giver_id, Volunteer, "volunteer account")
            receiver = (
                self.load_or_open_pool(at)
                if to_pool
                else self.load(to, Beneficiary, "beneficiary account")
            )
            self.transfer(Flow.GIFT, amount, giver, receiver, record_id, at)
            if message:  # free text stays out of the published log (ledger/personal.py)
                self.personal.put(str(record_id), {"gift_message": message})
            gift = Gift._create(
                Gift.Given,
                id=record_id,
                timestamp=at,
                from_id=str(giver.id),
                to_id=str(receiver.id),
                to_pool=to_pool,
                amount=amount,
                message=None,  # gifts recorded before it moved beside the log carry it here
            )
            self.save(gift, giver, receiver)
            return gift_view(gift)

        return self.run(attempt, "giving beans", replay)

    def gift_messages(self, gift_ids: Sequence[str]) -> dict[str, str]:
        """The givers' messages of these gifts (``{gift id: message}``, gifts without one
        left out), for the receiver's history."""
        found = self.personal.get_many([str(i) for i in gift_ids])
        messages = {i: v["gift_message"] for i, v in found.items() if v.get("gift_message")}
        for gift_id in gift_ids:
            if str(gift_id) not in messages:  # a gift recorded with its message in the log
                gift = self.find(as_uuid(gift_id, "gift"), Gift)
                if gift is not None and gift.message:
                    messages[str(gift_id)] = gift.message
        return messages

    def allocate_pool(
        self, to: object, amount: int, by: Actor, *, key: str | None = None
    ) -> AllocationView:
        """A coordinator moves beans from the gift pool to a beneficiary.

        Raises InsufficientBalance when the pool holds less, SelfVerification when the
        beneficiary's account is the coordinator's own.
        """
        check_beans(amount)
        if by.owns(to):
            raise SelfVerification("someone else must allocate the pool to your own account")
        record_id = derived_id("pool-allocation", by.name, key) if key is not None else uuid4()

        replay = self.keyed(
            key,
            record_id,
            PoolAllocation,
            lambda a: (a.to_id, a.amount) == (str(as_uuid(to)), amount),
            lambda a: AllocationView(str(a.id), a.to_id, a.amount),
            "allocation",
        )

        def attempt() -> AllocationView:
            at = self.now()
            receiver = self.load(to, Beneficiary, "beneficiary account")
            pool = self.load_or_open_pool(at)
            self.transfer(Flow.POOL_ALLOCATION, amount, pool, receiver, record_id, at)
            allocation = PoolAllocation._create(
                PoolAllocation.Allocated,
                id=record_id,
                timestamp=at,
                to_id=str(receiver.id),
                amount=amount,
                by=by.name,
            )
            self.save(allocation, pool, receiver)
            return AllocationView(str(allocation.id), allocation.to_id, amount)

        return self.run(attempt, "allocating from the pool", replay)

    def correct(
        self,
        account_id: object,
        amount: int,
        reason: str,
        by: Actor,
        *,
        corrects: object = None,
        key: str | None = None,
    ) -> CorrectionView:
        """Take back beans credited in error: the account is debited and the beans return
        to issuance. ``corrects`` names the credit: the id of the incident or activity
        that awarded the account, or of the allotment, gift or pool allocation it received.

        Raises ValidationError without ``corrects``; UnknownCredit when it names no such
        credit of this account; CorrectionExceedsCredit for more than is left of that
        credit after earlier corrections; InsufficientBalance for more than the balance;
        FourEyesRequired above ``correction_approval_above`` beans (prepare_correction,
        then another coordinator approves).
        """
        check_beans(amount)
        reason = check_text(reason, "reason", max_length=500)
        credit_id = credit_id_of(corrects)
        self.check_correction_threshold(amount)
        record_id = derived_id("correction", by.name, key) if key is not None else uuid4()

        replay = self.keyed(
            key,
            record_id,
            Correction,
            lambda c: (
                (c.account_id, c.amount, c.corrects)
                == (str(as_uuid(account_id)), amount, str(credit_id))
            ),
            correction_view,
            "correction",
        )

        def attempt() -> CorrectionView:
            correction, touched = self.make_correction(
                record_id, account_id, amount, reason, credit_id, by, self.now()
            )
            self.save(correction, *touched)
            return correction_view(correction)

        return self.run(attempt, "correcting", replay)

    def check_correction_threshold(self, amount: int) -> None:
        """Raise FourEyesRequired when a correction of ``amount`` beans needs a second
        coordinator's approval."""
        limit = self.base_rules.correction_approval_above
        if amount > limit:
            raise FourEyesRequired(
                f"a correction of more than {limit} beans is prepared by one coordinator "
                f"and approved by another; {amount} asked"
            )

    def make_correction(
        self,
        record_id: UUID,
        account_id: object,
        amount: int,
        reason: str,
        credit_id: UUID,
        by: Actor,
        at: datetime,
    ) -> tuple[Correction, list[Any]]:
        """The correction's record and the aggregates it changed (the account and the
        credit), not saved: the caller saves them in one transaction. Raises what
        :meth:`correct` raises but FourEyesRequired."""
        account = self.load_account(account_id, Volunteer, Beneficiary)
        credit = self.find(credit_id, CreditRecord)
        if credit is None:
            raise UnknownCredit(f"{credit_id} is no award, allotment, gift or pool allocation")
        credit.check_correction(str(account.id), amount)
        self.transfer(Flow.CORRECTION, amount, account, ISSUANCE, record_id, at)
        credit.correct(record_id, str(account.id), amount, at)
        correction = Correction._create(
            Correction.Made,
            id=record_id,
            timestamp=at,
            account_id=str(account.id),
            amount=amount,
            reason=reason,
            corrects=str(credit.id),
            by=by.name,
        )
        return correction, [account, credit]

    def grant_allotments(
        self,
        period: str,
        by: Actor,
        *,
        amount: int | None = None,
        account_ids: Sequence[object] | None = None,
    ) -> AllotmentRun:
        """Grant the monthly allotment for ``period`` (YYYY-MM) to every beneficiary, or
        to the given ones. Each beneficiary gets at most one allotment per period, so a
        repeated or interrupted run grants only what is missing (``skipped`` counts the
        rest, and, in a run for everyone, beneficiaries whose account was opened after
        ``period``).

        Raises PeriodNotOpen for a period other than the current month (or the previous
        one in the first ``allotment_late_days`` days of a month), or when a beneficiary
        given by id was opened after it; LimitExceeded for an amount over
        ``allotment_max``; NotFound for an id that is no beneficiary; SelfVerification
        when the coordinator's own account is among them; FourEyesRequired when the run
        would grant more than ``allotment_batch_approval_above`` beans in all
        (prepare_allotments, then another coordinator approves). Every check is made
        before anything is granted.
        """
        batch = self.allotment_batch(period, by, amount, account_ids)
        limit = self.base_rules.allotment_batch_approval_above
        if batch.total > limit:
            raise FourEyesRequired(
                f"an allotment batch of more than {limit} beans is prepared by one "
                f"coordinator and approved by another; this one grants {batch.total}"
            )
        return self.run_allotments(period, batch.beans, batch.targets, by)

    def run_scheduled_allotments(self, period: str | None = None) -> AllotmentRun:
        """The month's allotment as the scheduler grants it (``goldbean allotments run``,
        from a systemd timer or cron): the amount of the rules in force, to every
        beneficiary, each at most once per ``period`` (default: the current month), so
        running it again, every day, grants only what is missing, and a beneficiary who
        joins during a month gets that month's allotment at the next run.

        The four-eyes threshold on allotment batches guards what one coordinator
        chooses: an amount and a list of people. The scheduler chooses neither: it grants
        the allotment amount on the record (which only two admins change) to the
        beneficiaries there are, once each, so the run is bounded by that amount times
        the beneficiaries and needs no second person. Its grants are recorded as by
        :data:`SCHEDULER`, a name no user can have. Raises PeriodNotOpen as
        :meth:`grant_allotments` does."""
        period = period or self.calendar.period(self.now())
        batch = self.allotment_batch(period, SCHEDULER, None, None)
        return self.run_allotments(period, batch.beans, batch.targets, SCHEDULER)

    def allotment_ids(self, period: str) -> dict[str, str]:
        """The id each beneficiary's allotment for ``period`` has (or would have), with
        the beneficiary's id: what a list of the month's recipients looks up."""
        parse_period(period)
        return {
            str(derived_id("allotment", as_uuid(b), period)): b
            for b in self.index.ids_of("beneficiary")
        }

    def plan_allotments(
        self,
        period: str,
        by: Actor,
        *,
        amount: int | None = None,
        account_ids: Sequence[object] | None = None,
    ) -> AllotmentPlan:
        """What :meth:`grant_allotments` would grant now, and whether it needs a second
        coordinator; raises what it raises but FourEyesRequired. Records nothing."""
        batch = self.allotment_batch(period, by, amount, account_ids)
        return AllotmentPlan(
            period,
            batch.beans,
            len(batch.new),
            batch.total,
            batch.total > self.base_rules.allotment_batch_approval_above,
        )

    def allotment_batch(
        self,
        period: str,
        by: Actor,
        amount: int | None,
        account_ids: Sequence[object] | None,
    ) -> AllotmentBatch:
        """Check an allotment batch whole (see :meth:`grant_allotments`) and say whom it
        names and whom it would grant now."""
        parse_period(period)
        self.check_allotment_period(period)
        rules = self.rules
        beans = rules.allotment_beans if amount is None else check_beans(amount)
        if beans > rules.allotment_max:
            raise LimitExceeded(
                f"an allotment is at most {rules.allotment_max} beans per beneficiary "
                f"and period; {beans} asked"
            )
        if account_ids is not None:
            targets = [str(as_uuid(canonical_id(a), "beneficiary account")) for a in account_ids]
            for beneficiary_id in dict.fromkeys(targets):
                beneficiary = self.load(beneficiary_id, Beneficiary, "beneficiary account")
                self.check_opened_by(beneficiary, period)
        else:
            targets = self.index.ids_of("beneficiary")
        targets = list(dict.fromkeys(targets))
        if any(by.owns(target) for target in targets):
            raise SelfVerification(
                "your own account is among these beneficiaries; someone else must grant its "
                "allotment (or leave it out with account_ids)"
            )
        current = period == self.calendar.period(self.now())
        new = [
            target
            for target in targets
            if not self.exists(derived_id("allotment", as_uuid(target), period))
            and (current or account_ids is not None or self._opened_by(target, period))
        ]
        return AllotmentBatch(beans, targets, new, beans * len(new))

    def _opened_by(self, beneficiary_id: str, period: str) -> bool:
        beneficiary = self.load(beneficiary_id, Beneficiary, "beneficiary account")
        return period >= self.calendar.period(beneficiary.created_on)

    def run_allotments(
        self, period: str, beans: int, targets: Sequence[str], by: Actor
    ) -> AllotmentRun:
        """Grant ``beans`` for ``period`` to each of ``targets`` that has none yet, each
        in its own transaction (checked by the caller)."""
        granted: list[str] = []
        for number, beneficiary_id in enumerate(targets, start=1):
            if self._grant_allotment(beneficiary_id, period, beans, by):
                granted.append(beneficiary_id)
            if number % 500 == 0:
                log.info(
                    "allotments for %s: %d of %d beneficiaries done", period, number, len(targets)
                )
        total = len(targets)
        return AllotmentRun(
            period, len(granted), total - len(granted), beans * len(granted), granted
        )

    def check_allotment_period(self, period: str) -> None:
        """Raise PeriodNotOpen unless ``period`` may be granted now: the current month,
        or the previous one during the first ``allotment_late_days`` days of a month."""
        now = self.now()
        current = self.calendar.period(now)
        if period == current:
            return
        late_days = self.base_rules.allotment_late_days
        day_of_month = int(self.day_of(now)[8:10])
        if period == previous_period(current) and day_of_month <= late_days:
            return
        if period > current:
            raise PeriodNotOpen(f"the allotment period {period} has not begun")
        allowed = f"{current}" + (
            f" (or {previous_period(current)} until day {late_days} of the month)"
            if late_days
            else ""
        )
        raise PeriodNotOpen(f"the allotment period {period} is closed; only {allowed} is open")

    def check_opened_by(self, beneficiary: Beneficiary, period: str) -> None:
        """Raise PeriodNotOpen if the beneficiary's account was opened after ``period``."""
        opened = self.calendar.period(beneficiary.created_on)
        if period < opened:
            raise PeriodNotOpen(
                f"beneficiary account {beneficiary.id} was opened in {opened}, after {period}"
            )

    def _grant_allotment(self, beneficiary_id: str, period: str, beans: int, by: Actor) -> bool:
        record_id = derived_id("allotment", as_uuid(beneficiary_id, "beneficiary account"), period)

        def attempt() -> bool:
            if self.exists(record_id):
                return False
            at = self.now()
            beneficiary = self.load(beneficiary_id, Beneficiary, "beneficiary account")
            if period < self.calendar.period(beneficiary.created_on):
                return False  # opened after the period: nothing is owed for it
            self.transfer(Flow.ALLOTMENT, beans, ISSUANCE, beneficiary, record_id, at)
            allotment = Allotment._create(
                Allotment.Granted,
                id=record_id,
                timestamp=at,
                beneficiary_id=str(beneficiary.id),
                period=period,
                amount=beans,
                by=by.name,
            )
            self.save(allotment, beneficiary)
            return True

        return self.run(attempt, "granting an allotment")


#: who the scheduled allotment run is recorded as (not a possible user name)
SCHEDULER = Actor("(scheduler)")


@dataclass(frozen=True)
class AllotmentBatch:
    """An allotment batch checked whole: ``beans`` per beneficiary, the ``targets`` it
    names (every beneficiary, or the ids given, once each), the ``new`` ones it would
    grant now, and their ``total`` beans."""

    beans: int
    targets: list[str]
    new: list[str]
    total: int


def credit_id_of(corrects: object) -> UUID:
    """The id of the credit a correction names, in canonical form."""
    if corrects is None or (isinstance(corrects, str) and not corrects.strip()):
        raise ValidationError(
            "a correction names the credit it corrects (corrects): the id of the incident, "
            "activity, allotment, gift or pool allocation that credited the account"
        )
    try:
        return corrects if isinstance(corrects, UUID) else UUID(str(corrects).strip())
    except ValueError:
        raise UnknownCredit(
            f"{str(corrects)[:100]!r} is no award, allotment, gift or pool allocation"
        ) from None


def correction_view(correction: Correction) -> CorrectionView:
    return CorrectionView(
        str(correction.id), correction.account_id, correction.amount, correction.corrects
    )


def gift_view(gift: Gift) -> GiftView:
    return GiftView(str(gift.id), gift.from_id, "pool" if gift.to_pool else gift.to_id, gift.amount)
