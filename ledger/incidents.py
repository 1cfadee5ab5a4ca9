"""Incidents reported by volunteers (SPEC §4): submitted → verified | rejected |
duplicate; verified → resolved. The reporter is awarded on verification, each handler
on resolution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from ledger.accounts import Flow
from ledger.credits import CreditRecord
from ledger.errors import InvalidState, SelfVerification, ValidationError

SUBMITTED, VERIFIED, REJECTED, DUPLICATE, RESOLVED = (
    "submitted",
    "verified",
    "rejected",
    "duplicate",
    "resolved",
)


class Incident(CreditRecord):
    credit_flow = Flow.AWARD

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        reporter_id: str
        category: str
        description: str
        location: str | None
        urgent: bool
        status: str
        handler_ids: list[str]
        award: int | None
        award_per_handler: int | None
        reason: str | None
        duplicate_of: str | None
        grid_id: str | None

    class Submitted(Aggregate.Created):
        reporter_id: str
        category: str
        description: str
        location: str | None
        urgent: bool

        def apply(self, incident: Incident) -> None:
            incident.reporter_id = self.reporter_id
            incident.category = self.category
            incident.description = self.description
            incident.location = self.location
            incident.urgent = self.urgent
            incident.status = SUBMITTED
            incident.handler_ids = []
            incident.award = None
            incident.award_per_handler = None
            incident.reason = None
            incident.duplicate_of = None
            incident.grid_id = None
            incident.init_credits()

    class PlacedInGrid(Aggregate.Event):
        """The incident is in this grid (网格; issue 18): chosen by the reporter, taken
        from the reporter's record, or set by a coordinator (``by``)."""

        grid_id: str | None
        by: str | None

        def apply(self, incident: Incident) -> None:
            incident.grid_id = self.grid_id

    def place_in_grid(self, grid_id: str | None, by: str | None) -> None:
        if grid_id != self.grid_id:
            self.trigger_event(self.PlacedInGrid, grid_id=grid_id, by=by)

    class Verified(Aggregate.Event):
        by: str
        award: int

        def apply(self, incident: Incident) -> None:
            incident.status = VERIFIED
            incident.award = self.award
            incident.note_credit(incident.reporter_id, self.award, self.timestamp)

    class Rejected(Aggregate.Event):
        by: str
        reason: str

        def apply(self, incident: Incident) -> None:
            incident.status = REJECTED
            incident.reason = self.reason

    class MarkedDuplicate(Aggregate.Event):
        by: str
        of: str

        def apply(self, incident: Incident) -> None:
            incident.status = DUPLICATE
            incident.duplicate_of = self.of

    class HandlersAssigned(Aggregate.Event):
        by: str
        handler_ids: list[str]

        def apply(self, incident: Incident) -> None:
            incident.handler_ids = list(self.handler_ids)

    class Resolved(Aggregate.Event):
        by: str
        award_per_handler: int

        def apply(self, incident: Incident) -> None:
            incident.status = RESOLVED
            incident.award_per_handler = self.award_per_handler
            for handler_id in incident.handler_ids:
                incident.note_credit(handler_id, self.award_per_handler, self.timestamp)

    def check_status(self, *allowed: str, doing: str) -> None:
        if self.status not in allowed:
            raise InvalidState(f"cannot {doing} an incident that is {self.status}")

    def check_not_involved(self, actor_account_id: str | None, doing: str) -> None:
        """Four eyes: nobody verifies or resolves an incident they reported or handled."""
        if actor_account_id is None:
            return
        if actor_account_id == self.reporter_id:
            raise SelfVerification(f"you reported this incident, so someone else must {doing} it")
        if actor_account_id in self.handler_ids:
            raise SelfVerification(f"you handled this incident, so someone else must {doing} it")

    def verify(self, by: str, award: int, at) -> None:
        self.check_status(SUBMITTED, doing="verify")
        self.trigger_event(self.Verified, timestamp=at, by=by, award=award)

    def reject(self, by: str, reason: str, at) -> None:
        self.check_status(SUBMITTED, doing="reject")
        if not reason or not reason.strip():
            raise ValidationError("a rejection needs a reason")
        self.trigger_event(self.Rejected, timestamp=at, by=by, reason=reason.strip())

    def mark_duplicate(self, by: str, of: str, at) -> None:
        self.check_status(SUBMITTED, doing="mark as duplicate")
        if of == str(self.id):
            raise ValidationError("an incident cannot duplicate itself")
        self.trigger_event(self.MarkedDuplicate, timestamp=at, by=by, of=of)

    def assign_handlers(self, by: str, handler_ids: list[str], at) -> None:
        self.check_status(SUBMITTED, VERIFIED, doing="assign handlers to")
        unique = list(dict.fromkeys(handler_ids))
        self.trigger_event(self.HandlersAssigned, timestamp=at, by=by, handler_ids=unique)

    def resolve(self, by: str, award_per_handler: int, at) -> None:
        self.check_status(VERIFIED, doing="resolve")
        self.trigger_event(self.Resolved, timestamp=at, by=by, award_per_handler=award_per_handler)
