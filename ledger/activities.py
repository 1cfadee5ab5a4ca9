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
        team_id: str | None

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
            activity.team_id = None
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

    class AssignedToTeam(Aggregate.Event):
        """The activity is the team's (issue 18): its leaders may confirm attendance."""

        team_id: str | None
        by: str

        def apply(self, activity: Activity) -> None:
            activity.team_id = self.team_id

    class CheckedInManually(Aggregate.Event):
        """A member without a phone was checked in by number: by a staff user
        (``by``), or by a leader of the activity's team (``leader_id``, their account)."""

        account_id: str
        by: str | None
        leader_id: str | None

        def apply(self, activity: Activity) -> None:
            activity.checked_in.append(self.account_id)

    class AttendanceConfirmedByLeader(Aggregate.Event):
        """A leader of the activity's team (``leader_id``, their account) confirmed
        attendance; awarded as AttendanceConfirmed."""

        leader_id: str
        account_ids: list[str]
        beans: int

        def apply(self, activity: Activity) -> None:
            activity.confirmed.extend(self.account_ids)
            for account_id in self.account_ids:
                activity.note_credit(account_id, self.beans, self.timestamp)

    def assign_team(self, team_id: str | None, by: str) -> None:
        if team_id != self.team_id:
            self.trigger_event(self.AssignedToTeam, team_id=team_id, by=by)

    def check_in_manually(
        self, account_id: str, at: datetime, by: str | None, leader_id: str | None
    ) -> bool:
        """Check a member in by number while the activity runs; False if they were
        already checked in (once per activity, as with the code)."""
        self.check_running(at)
        if account_id in self.checked_in:
            return False
        self.trigger_event(
            self.CheckedInManually, timestamp=at, account_id=account_id, by=by, leader_id=leader_id
        )
        return True

    def check_running(self, at: datetime) -> None:
        if not self.starts_at <= at <= self.ends_at:
            raise ActivityNotRunning(
                f"check-in is open only while the activity runs "
                f"({self.starts_at.isoformat()} to {self.ends_at.isoformat()})"
            )

    def check_in(self, account_id: str, code_digest: str, at: datetime) -> bool:
        """Record a check-in with the digest of the code shown; False if the volunteer had
        already checked in."""
        if not hmac.compare_digest(code_digest.encode(), self.checkin_digest.encode()):
            raise InvalidCode("this is not the check-in code of this activity")
        self.check_running(at)
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

    def confirm(
        self, by: str, account_ids: list[str], at: datetime, leader_id: str | None = None
    ) -> None:
        if at < self.starts_at:
            raise InvalidState("attendance can be confirmed once the activity has started")
        if leader_id is not None:
            self.trigger_event(
                self.AttendanceConfirmedByLeader,
                timestamp=at,
                leader_id=leader_id,
                account_ids=account_ids,
                beans=self.beans,
            )
            return
        self.trigger_event(
            self.AttendanceConfirmed, timestamp=at, by=by, account_ids=account_ids, beans=self.beans
        )
