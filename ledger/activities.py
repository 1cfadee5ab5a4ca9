"""Volunteer activities (SPEC §4): volunteers check in with the activity's code while it
runs; the coordinator confirms the attendance list, which awards each attendee once."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from ledger.accounts import Flow
from ledger.credits import CreditRecord
from ledger.errors import ActivityNotRunning, InvalidCode, InvalidState, ValidationError


class Activity(CreditRecord):
    credit_flow = Flow.AWARD

    if TYPE_CHECKING:  # set by the events; annotations here would become __init__ fields
        title: str
        starts_at: datetime
        ends_at: datetime
        beans: int
        checkin_digest: str
        checked_in: list[str]
        confirmed: list[str]

    class Created(Aggregate.Created):
        title: str
        starts_at: datetime
        ends_at: datetime
        beans: int
        checkin_digest: str  # a keyed digest of the check-in code (the code is a secret)
        by: str

        def apply(self, activity: Activity) -> None:
            activity.title = self.title
            activity.starts_at = self.starts_at
            activity.ends_at = self.ends_at
            activity.beans = self.beans
            activity.checkin_digest = self.checkin_digest
            activity.checked_in = []
            activity.confirmed = []
            activity.init_credits()

    class CheckedIn(Aggregate.Event):
        account_id: str

        def apply(self, activity: Activity) -> None:
            activity.checked_in.append(self.account_id)

    class AttendanceConfirmed(Aggregate.Event):
        by: str
        account_ids: list[str]
        beans: int

        def apply(self, activity: Activity) -> None:
            activity.confirmed.extend(self.account_ids)
            for account_id in self.account_ids:
                activity.note_credit(account_id, self.beans, self.timestamp)

    def check_in(self, account_id: str, code_digest: str, at: datetime) -> bool:
        """Record a check-in with the digest of the code shown; False if the volunteer had
        already checked in."""
        if not hmac.compare_digest(code_digest.encode(), self.checkin_digest.encode()):
            raise InvalidCode("this is not the check-in code of this activity")
        if not self.starts_at <= at <= self.ends_at:
            raise ActivityNotRunning(
                f"check-in is open only while the activity runs "
                f"({self.starts_at.isoformat()} to {self.ends_at.isoformat()})"
            )
        if account_id in self.checked_in:
            return False
        self.trigger_event(self.CheckedIn, timestamp=at, account_id=account_id)
        return True

    def attendees_to_confirm(self, account_ids: list[str] | None) -> list[str]:
        """The attendees a confirmation would award: the given ones (all checked in)
        or everyone checked in, less those already confirmed."""
        if account_ids is None:
            chosen = list(self.checked_in)
        else:
            chosen = list(dict.fromkeys(account_ids))
            strangers = [a for a in chosen if a not in self.checked_in]
            if strangers:
                raise ValidationError(f"not checked in to this activity: {', '.join(strangers)}")
        return [a for a in chosen if a not in self.confirmed]

    def confirm(self, by: str, account_ids: list[str], at: datetime) -> None:
        if at < self.starts_at:
            raise InvalidState("attendance can be confirmed once the activity has started")
        self.trigger_event(
            self.AttendanceConfirmed, timestamp=at, by=by, account_ids=account_ids, beans=self.beans
        )
