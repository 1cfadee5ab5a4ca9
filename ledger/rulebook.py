"""The programme's rules on the record (issue 18): one :class:`RuleBook` per community.

``Established`` records the rules a community starts with (its settings, once); an admin
proposes a change (``ChangeProposed``: the new values of some rules and the time they
take effect), a second admin approves it (``ChangeApproved``) or any admin withdraws it
while it waits (``ChangeWithdrawn``). The rules in force at an instant are the
established ones with every approved change whose time has come applied in the order of
their times (and of their approvals, for one time). Nothing takes effect in the past: a
proposal states a time not before its own, and a change approved after its stated time
takes effect when it is approved (``ChangeApproved.effective_at`` says when).

The events carry rule values, times and the admins' user names: no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from ledger.errors import FourEyesRequired, InvalidState, NotFound, ValidationError
from ledger.rules import Rules

PENDING, APPROVED, WITHDRAWN = "pending", "approved", "withdrawn"
#: proposals waiting at once; more is a sign of a script gone wrong
MAX_PENDING = 20


@dataclass(frozen=True)
class RuleChange:
    """One proposed change as the rule book holds it."""

    id: str
    values: dict[str, Any]
    effective_at: datetime | None  # None: when approved
    proposed_by: str
    proposed_at: datetime
    status: str = PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    in_force_from: datetime | None = None  # once approved
    order: int = 0  # approvals' order, for changes of the same time


class RuleBook(Aggregate):
    """The community's rules: where they started and every change to them."""

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        initial: dict[str, Any]
        established_by: str
        changes: dict[str, RuleChange]

    class Established(Aggregate.Created):
        values: dict[str, Any]
        by: str

        def apply(self, book: RuleBook) -> None:
            book.initial, book.established_by, book.changes = dict(self.values), self.by, {}

    class ChangeProposed(Aggregate.Event):
        change_id: str
        values: dict[str, Any]
        effective_at: datetime | None
        by: str

        def apply(self, book: RuleBook) -> None:
            book.changes[self.change_id] = RuleChange(
                self.change_id, dict(self.values), self.effective_at, self.by, self.timestamp
            )

    class ChangeApproved(Aggregate.Event):
        """``values`` repeats the proposal's, so that the event says whole what
        changed and from when (the reports list it as it is)."""

        change_id: str
        values: dict[str, Any]
        by: str
        effective_at: datetime

        def apply(self, book: RuleBook) -> None:
            order = sum(1 for c in book.changes.values() if c.status == APPROVED) + 1
            book.changes[self.change_id] = _approved(
                book.changes[self.change_id], self.by, self.timestamp, self.effective_at, order
            )

    class ChangeWithdrawn(Aggregate.Event):
        change_id: str
        by: str

        def apply(self, book: RuleBook) -> None:
            change = book.changes[self.change_id]
            book.changes[self.change_id] = RuleChange(
                change.id,
                change.values,
                change.effective_at,
                change.proposed_by,
                change.proposed_at,
                WITHDRAWN,
                self.by,
                self.timestamp,
            )

    # --- reading --------------------------------------------------------------------------

    def adopted(self) -> list[RuleChange]:
        """The approved changes in the order they apply."""
        approved = [c for c in self.changes.values() if c.status == APPROVED]
        return sorted(approved, key=lambda c: (c.in_force_from, c.order))

    def rules_at(self, base: Rules, at: datetime) -> Rules:
        """The rules in force at ``at``: ``base`` (what the settings fix, and the rules
        that are not on the record) with the established values and every change in
        force by then."""
        return _in_force(base, self.initial, self.adopted(), at)

    def check_adoption(self, base: Rules, change: RuleChange, effective_at: datetime) -> None:
        """ValidationError if adopting ``change`` at ``effective_at`` would leave rules
        that do not hold together at that time or at any later change's (an award above
        the largest award, an allotment above its most)."""
        adopted = [*self.adopted(), _approved(change, "-", effective_at, effective_at, 10**9)]
        adopted.sort(key=lambda c: (c.in_force_from, c.order))
        for moment in sorted({c.in_force_from for c in adopted if c.in_force_from}):
            if moment >= effective_at:
                _in_force(base, self.initial, adopted, moment)

    def change(self, change_id: str) -> RuleChange:
        found = self.changes.get(change_id)
        if found is None:
            raise NotFound(f"no rule change {change_id}")
        return found

    # --- commands -----------------------------------------------------------------------

    def propose(
        self,
        change_id: str,
        values: dict[str, Any],
        effective_at: datetime | None,
        by: str,
        at: datetime,
    ) -> None:
        """Record a proposal (checked by the caller against the rules it changes)."""
        if effective_at is not None and effective_at < at:
            raise ValidationError("a rule change cannot take effect in the past")
        if sum(1 for c in self.changes.values() if c.status == PENDING) >= MAX_PENDING:
            raise InvalidState(
                f"{MAX_PENDING} rule changes are waiting; approve or withdraw some first"
            )
        self.trigger_event(
            self.ChangeProposed,
            timestamp=at,
            change_id=change_id,
            values=values,
            effective_at=effective_at,
            by=by,
        )

    def approve(self, change_id: str, by: str, at: datetime) -> datetime:
        """Approve a pending change; the time it takes effect (its stated time, or now if
        that has passed). FourEyesRequired for its proposer, InvalidState unless pending."""
        change = self.change(change_id)
        if by == change.proposed_by:
            raise FourEyesRequired(
                f"this rule change was proposed by {by}; another admin approves it"
            )
        if change.status != PENDING:
            raise InvalidState(f"this rule change is already {change.status}")
        effective_at = max(change.effective_at or at, at)
        self.trigger_event(
            self.ChangeApproved,
            timestamp=at,
            change_id=change_id,
            values=change.values,
            by=by,
            effective_at=effective_at,
        )
        return effective_at

    def withdraw(self, change_id: str, by: str, at: datetime) -> None:
        change = self.change(change_id)
        if change.status != PENDING:
            raise InvalidState(f"this rule change is already {change.status}")
        self.trigger_event(self.ChangeWithdrawn, timestamp=at, change_id=change_id, by=by)


def _approved(
    change: RuleChange, by: str, at: datetime, effective_at: datetime, order: int
) -> RuleChange:
    return RuleChange(
        change.id,
        change.values,
        change.effective_at,
        change.proposed_by,
        change.proposed_at,
        APPROVED,
        by,
        at,
        effective_at,
        order,
    )


def _in_force(
    base: Rules, initial: dict[str, Any], adopted: list[RuleChange], at: datetime
) -> Rules:
    rules = base.restored(initial) if initial else base
    for change in adopted:
        if change.in_force_from is not None and change.in_force_from <= at:
            rules = rules.changed(change.values)
    return rules
