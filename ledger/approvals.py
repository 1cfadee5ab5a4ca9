"""Four eyes above a threshold: a request that one coordinator prepares and another
approves (issue 14).

A correction of more than ``Rules.correction_approval_above`` beans, or an allotment
batch granting more than ``Rules.allotment_batch_approval_above`` beans in all, is not
run by one person: it is recorded as an :class:`ApprovalRequest` (``Prepared``) with
everything the command needs, and runs only when someone other than the preparer
approves it (``Approved``, saved with the command's own records where they are one
transaction). A request still pending may be withdrawn (``Withdrawn``) by any
coordinator; nothing was moved, so no second person is needed for that.

``details`` is plain JSON: for a correction ``{account_id, amount, reason, corrects}``,
for an allotment batch ``{period, amount, account_ids}`` (the beneficiaries the batch
grants, resolved when it was prepared, so the approver approves exactly what they see).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from ledger.errors import FourEyesRequired, InvalidState

CORRECTION = "correction"
ALLOTMENTS = "allotments"
KINDS = (CORRECTION, ALLOTMENTS)

PENDING, APPROVED, WITHDRAWN = "pending", "approved", "withdrawn"


class ApprovalRequest(Aggregate):
    """A correction or an allotment batch above its threshold, waiting for a second
    person."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        kind: str
        details: dict[str, Any]
        beans: int
        prepared_by: str
        prepared_at: datetime
        status: str
        decided_by: str | None
        reason: str | None
        result: dict[str, Any]

    class Prepared(Aggregate.Created):
        """``beans``: what the command moves in all (the correction's amount, or the
        batch's beans per beneficiary times the beneficiaries it grants)."""

        kind: str
        details: dict[str, Any]
        beans: int
        by: str

        def apply(self, request: ApprovalRequest) -> None:
            request.kind, request.details, request.beans = self.kind, self.details, self.beans
            request.prepared_by, request.prepared_at = self.by, self.timestamp
            request.status, request.decided_by = PENDING, None
            request.reason, request.result = None, {}

    class Approved(Aggregate.Event):
        """Approved by a second person, and run: ``result`` says what it did (the
        correction's id; the batch's granted, skipped and total)."""

        by: str
        result: dict[str, Any]

        def apply(self, request: ApprovalRequest) -> None:
            request.status, request.decided_by, request.result = APPROVED, self.by, self.result

    class Withdrawn(Aggregate.Event):
        by: str
        reason: str | None

        def apply(self, request: ApprovalRequest) -> None:
            request.status, request.decided_by, request.reason = WITHDRAWN, self.by, self.reason

    def check_approval(self, by: str) -> None:
        """Raise FourEyesRequired if ``by`` prepared this request, InvalidState unless it
        is pending."""
        if by == self.prepared_by:
            raise FourEyesRequired(
                f"this {self.what} was prepared by {by}; another coordinator approves it"
            )
        if self.status != PENDING:
            raise InvalidState(f"this {self.what} request is already {self.status}")

    def approve(self, by: str, result: dict[str, Any], at: datetime) -> None:
        self.check_approval(by)
        self.trigger_event(self.Approved, timestamp=at, by=by, result=result)

    def withdraw(self, by: str, reason: str | None, at: datetime) -> None:
        """Withdraw a pending request; InvalidState once it is approved or withdrawn."""
        if self.status != PENDING:
            raise InvalidState(f"this {self.what} request is already {self.status}")
        self.trigger_event(self.Withdrawn, timestamp=at, by=by, reason=reason)

    @property
    def what(self) -> str:
        return "correction" if self.kind == CORRECTION else "allotment batch"
