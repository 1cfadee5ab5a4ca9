"""The programme's rules on the record (ledger/rulebook.py): established once, changed by
one admin's proposal and another admin's approval, from a stated time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from ledger.core import LedgerCore
from ledger.errors import IdempotencyKeyReused, NotFound, ValidationError
from ledger.ids import RULES_ID, derived_id
from ledger.rulebook import RuleBook, RuleChange
from ledger.rules import check_changes
from ledger.views import Actor

#: how far ahead a change may be set to take effect
RULES_HORIZON = timedelta(days=366)
SYSTEM = "system"


class RuleCommands(LedgerCore):
    def rule_book(self) -> RuleBook | None:
        """The rule book, or None while the rules are still the settings'."""
        return self.find(RULES_ID, RuleBook)

    def establish_rules(self, by: str = SYSTEM) -> bool:
        """Record the rules the settings give as the first rules event, once; False if
        the rules are on the record already."""

        def attempt() -> bool:
            if self.exists(RULES_ID):
                return False
            self.save(self._established(self.now(), by))
            return True

        return self.run(attempt, "recording the rules")

    def _established(self, at: datetime, by: str) -> RuleBook:
        return RuleBook._create(
            RuleBook.Established, id=RULES_ID, timestamp=at, values=self.base_rules.record(), by=by
        )

    def rule_changes(self) -> list[RuleChange]:
        """Every proposed change, the latest first."""
        book = self.rule_book()
        if book is None:
            return []
        return sorted(book.changes.values(), key=lambda c: c.proposed_at, reverse=True)

    def rule_change(self, change_id: object) -> RuleChange:
        book = self.rule_book()
        if book is None:
            raise NotFound(f"no rule change {change_id}")
        return book.change(str(change_id))

    def propose_rule_change(
        self,
        values: Mapping[str, Any],
        by: Actor,
        *,
        effective_at: datetime | None = None,
        key: str | None = None,
    ) -> RuleChange:
        """Propose new values for some rules (:data:`ledger.rules.CHANGEABLE`), to take
        effect at ``effective_at`` (not in the past; None: when approved) once another
        admin approves. In a database whose rules are not yet on the record, the
        settings' rules are recorded first (in the same transaction).

        Raises ValidationError for an unknown rule, a value out of bounds, rules that
        would not hold together, or a time in the past or more than a year ahead;
        InvalidState when too many changes wait; IdempotencyKeyReused.
        """
        values = dict(values) if isinstance(values, Mapping) else {}
        check_changes(values)
        if effective_at is not None and (
            not isinstance(effective_at, datetime) or effective_at.tzinfo is None
        ):
            raise ValidationError("effective_at must be a timezone-aware date-time")
        change_id = str(derived_id("rule-change", by.name, key) if key else uuid4())

        def attempt() -> RuleChange:
            at = self.now()
            book = self.rule_book()
            if book is not None and change_id in book.changes:
                first = book.changes[change_id]
                if (first.values, first.effective_at) != (values, effective_at):
                    raise IdempotencyKeyReused("this idempotency key was used for another change")
                return first
            if effective_at is not None and effective_at > at + RULES_HORIZON:
                raise ValidationError("a rule change takes effect within a year")
            self.rules_at(effective_at or at).changed(values)  # holds together then
            book = book or self._established(at, by.name)
            book.propose(change_id, values, effective_at, by.name, at)
            self.save(book)
            return book.change(change_id)

        return self.run(attempt, "proposing a rule change")

    def approve_rule_change(self, change_id: object, by: Actor) -> RuleChange:
        """Approve another admin's proposal: it takes effect at its stated time, or now
        if that has passed. Raises NotFound, FourEyesRequired for its proposer,
        InvalidState unless it waits, ValidationError if the rules would no longer hold
        together."""

        def attempt() -> RuleChange:
            at = self.now()
            book = self.rule_book()
            if book is None:
                raise NotFound(f"no rule change {change_id}")
            change = book.change(str(change_id))
            if change.proposed_by != by.name and change.status == "pending":
                effective = max(change.effective_at or at, at)
                book.check_adoption(self.base_rules, change, effective)
            book.approve(change.id, by.name, at)
            self.save(book)
            return book.change(change.id)

        return self.run(attempt, "approving a rule change")

    def withdraw_rule_change(self, change_id: object, by: Actor) -> RuleChange:
        """Withdraw a change that waits for approval (any admin). InvalidState once it is
        approved or withdrawn."""

        def attempt() -> RuleChange:
            book = self.rule_book()
            if book is None:
                raise NotFound(f"no rule change {change_id}")
            change = book.change(str(change_id))
            book.withdraw(change.id, by.name, self.now())
            self.save(book)
            return book.change(change.id)

        return self.run(attempt, "withdrawing a rule change")

    def rules_history(self) -> list[tuple[datetime, dict[str, Any]]]:
        """The approved changes as (in force from, values), in the order they apply."""
        book = self.rule_book()
        if book is None:
            return []
        return [(c.in_force_from, c.values) for c in book.adopted() if c.in_force_from]
