"""Corrections and allotment batches above the programme's thresholds: prepared by one
coordinator, approved (and run) by another, or withdrawn (ledger/approvals.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID, uuid4

from ledger.accounts import Beneficiary, Volunteer
from ledger.approvals import ALLOTMENTS, CORRECTION, ApprovalRequest
from ledger.commands_giving import GivingCommands, correction_view, credit_id_of
from ledger.core import as_uuid, check_text, optional_text
from ledger.credits import CreditRecord
from ledger.errors import (
    InsufficientBalance,
    NotFound,
    SelfVerification,
    UnknownCredit,
    ValidationError,
)
from ledger.ids import derived_id
from ledger.money import check_beans
from ledger.views import Actor, AllotmentRun, ApprovalRequestView, CorrectionView

log = logging.getLogger(__name__)


class ApprovalCommands(GivingCommands):
    # --- corrections ---------------------------------------------------------------------

    def prepare_correction(
        self,
        account_id: object,
        amount: int,
        reason: str,
        by: Actor,
        *,
        corrects: object = None,
        key: str | None = None,
    ) -> ApprovalRequestView:
        """Ask for a correction that another coordinator approves (any amount; above
        ``correction_approval_above`` beans it is the only way). It is checked now as
        :meth:`correct` checks it, and again when approved.

        Raises ValidationError, UnknownCredit, CorrectionExceedsCredit,
        InsufficientBalance, NotFound, IdempotencyKeyReused.
        """
        check_beans(amount)
        reason = check_text(reason, "reason", max_length=500)
        credit_id = credit_id_of(corrects)
        record_id = derived_id("approval-request", by.name, key) if key is not None else uuid4()
        details = {
            "account_id": str(as_uuid(account_id, "volunteer or beneficiary account")),
            "amount": amount,
            "reason": reason,
            "corrects": str(credit_id),
        }
        replay = self.keyed(
            key,
            record_id,
            ApprovalRequest,
            lambda r: (r.kind, r.details) == (CORRECTION, details),
            request_view,
            "correction request",
        )

        def attempt() -> ApprovalRequestView:
            at = self.now()
            account = self.load_account(account_id, Volunteer, Beneficiary)
            credit = self.find(credit_id, CreditRecord)
            if credit is None:
                raise UnknownCredit(f"{corrects} is no award, allotment, gift or pool allocation")
            credit.check_correction(str(account.id), amount)
            if amount > account.balance:
                raise InsufficientBalance(f"the account holds {account.balance} beans")
            request = ApprovalRequest._create(
                ApprovalRequest.Prepared,
                id=record_id,
                timestamp=at,
                kind=CORRECTION,
                details=details,
                beans=amount,
                by=by.name,
            )
            self.save(request)
            return request_view(request)

        return self.run(attempt, "preparing a correction", replay)

    def approve_correction(self, request_id: object, by: Actor) -> CorrectionView:
        """Approve a prepared correction and make it, in one transaction, exactly as
        :meth:`correct` would (its checks run again now).

        Raises NotFound (no such correction request), FourEyesRequired (``by``
        prepared it), InvalidState (approved or withdrawn already), and what
        :meth:`correct` raises when the credit or the balance changed meanwhile (the
        request then stays pending: withdraw it).
        """

        def attempt() -> CorrectionView:
            at = self.now()
            request = self._request(request_id, CORRECTION)
            request.check_approval(by.name)
            details = request.details
            correction, touched = self.make_correction(
                derived_id("correction", "approval-request", request.id),
                details["account_id"],
                details["amount"],
                details["reason"],
                UUID(details["corrects"]),
                by,
                at,
            )
            request.approve(by.name, {"correction_id": str(correction.id)}, at)
            self.save(request, correction, *touched)
            return correction_view(correction)

        return self.run(attempt, "approving a correction")

    # --- allotment batches -----------------------------------------------------------------

    def prepare_allotments(
        self,
        period: str,
        by: Actor,
        *,
        amount: int | None = None,
        account_ids: Sequence[object] | None = None,
        key: str | None = None,
    ) -> ApprovalRequestView:
        """Ask for an allotment batch that another coordinator approves (any size; above
        ``allotment_batch_approval_above`` beans in all it is the only way). The batch is
        checked whole now, as :meth:`grant_allotments` checks it, and the beneficiaries
        it would grant are written down: the approval grants those, and no others.

        Raises what grant_allotments raises but FourEyesRequired; ValidationError when
        the batch would grant nobody; IdempotencyKeyReused.
        """
        batch = self.allotment_batch(period, by, amount, account_ids)
        if not batch.new:
            raise _nothing_to_grant(period)
        record_id = derived_id("approval-request", by.name, key) if key is not None else uuid4()
        details = {"period": period, "amount": batch.beans, "account_ids": batch.new}
        replay = self.keyed(
            key,
            record_id,
            ApprovalRequest,
            lambda r: r.kind == ALLOTMENTS and r.details["period"] == period,
            request_view,
            "allotment request",
        )

        def attempt() -> ApprovalRequestView:
            request = ApprovalRequest._create(
                ApprovalRequest.Prepared,
                id=record_id,
                timestamp=self.now(),
                kind=ALLOTMENTS,
                details=details,
                beans=batch.total,
                by=by.name,
            )
            self.save(request)
            return request_view(request)

        return self.run(attempt, "preparing allotments", replay)

    def approve_allotments(self, request_id: object, by: Actor) -> AllotmentRun:
        """Approve a prepared allotment batch and grant it, exactly as
        :meth:`grant_allotments` grants (each beneficiary in its own transaction, at most
        once per period), then record the approval with what was granted. If the
        approval is interrupted half way, approving it again grants the rest.

        Raises NotFound (no such allotment request), FourEyesRequired (``by`` prepared
        it), InvalidState (approved or withdrawn already), PeriodNotOpen (its month has
        closed meanwhile), SelfVerification (``by``'s own account is among them).
        """
        request = self._request(request_id, ALLOTMENTS)
        request.check_approval(by.name)
        period, beans = request.details["period"], request.details["amount"]
        targets = list(request.details["account_ids"])
        self.check_allotment_period(period)
        if any(by.owns(target) for target in targets):
            raise SelfVerification(
                "your own account is among these beneficiaries; another coordinator approves"
            )
        run = self.run_allotments(period, beans, targets, by)

        def attempt() -> None:
            again = self._request(request_id, ALLOTMENTS)
            again.approve(
                by.name,
                {"granted": run.granted, "skipped": run.skipped, "total": run.total},
                self.now(),
            )
            self.save(again)

        self.run(attempt, "approving allotments")
        return run

    # --- both --------------------------------------------------------------------------------

    def withdraw_request(
        self, request_id: object, by: Actor, reason: str | None = None
    ) -> ApprovalRequestView:
        """Withdraw a pending correction or allotment request (any coordinator: nothing
        was moved). Raises NotFound, InvalidState (approved or withdrawn already)."""
        reason = optional_text(reason, "reason", max_length=500)

        def attempt() -> ApprovalRequestView:
            request = self._request(request_id)
            request.withdraw(by.name, reason, self.now())
            self.save(request)
            return request_view(request)

        return self.run(attempt, "withdrawing a request")

    def get_approval_request(self, request_id: object) -> ApprovalRequestView:
        return request_view(self._request(request_id))

    def list_approval_requests(self, kind: str | None = None) -> list[ApprovalRequestView]:
        """The requests waiting for a second coordinator, oldest first (of one ``kind``,
        ``correction`` or ``allotments``, if given)."""
        found = []
        for request_id in self.index.pending_requests():
            request = self.find(UUID(request_id), ApprovalRequest)
            if request is not None and request.status == "pending":
                if kind is None or request.kind == kind:
                    found.append(request_view(request))
        return found

    def _request(self, request_id: object, kind: str | None = None) -> ApprovalRequest:
        what = {CORRECTION: "correction request", ALLOTMENTS: "allotment request"}
        request = self.load(request_id, ApprovalRequest, what.get(kind or "", "request"))
        if kind is not None and request.kind != kind:
            raise NotFound(f"no {what[kind]} {request_id}")
        return request


def _nothing_to_grant(period: str) -> ValidationError:
    return ValidationError(f"every beneficiary named already has the allotment of {period}")


def request_view(request: ApprovalRequest) -> ApprovalRequestView:
    details = request.details
    correction = request.kind == CORRECTION
    return ApprovalRequestView(
        id=str(request.id),
        kind=request.kind,
        status=request.status,
        beans=request.beans,
        prepared_by=request.prepared_by,
        prepared_at=request.prepared_at,
        decided_by=request.decided_by,
        amount=details.get("amount"),
        account_id=details["account_id"] if correction else None,
        reason=details["reason"] if correction else None,
        corrects=details["corrects"] if correction else None,
        period=None if correction else details["period"],
        account_ids=[] if correction else list(details["account_ids"]),
        result=dict(request.result),
    )
