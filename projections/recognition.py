"""The ``recognition`` projection: what each volunteer has given, for the 星级评定 (star
rating) and the 季度评比 (quarterly honours list). docs/LEDGER.md states the rules.

- Beans earned, by kind: as a reporter (the award of a verified report), as a handler
  (the award of each resolved incident they handled) and at activities (each confirmed
  attendance). Awards taken back by corrections are counted apart (``corrected``), in
  the quarter of the award they correct, as the leaderboard does.
- Service time: each confirmed attendance counts the activity's duration (its start to
  its end, whole minutes), in the quarter the activity started. A check-in that is never
  confirmed counts nothing; a correction of an attendance's beans leaves its time (the
  confirmation is the record that the volunteer was there).
- Quarters are calendar quarters of the programme's zone (``2026-Q1``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table

from ledger.activities import Activity
from ledger.calendar import ProgrammeCalendar
from ledger.fund import Settlement
from ledger.incidents import Incident
from projections import tables as t
from projections.dispatch import Dispatch, topics
from projections.events import LocalMonths, StoredEvent
from projections.quiet_events import QUIET
from projections.rows import Rows

#: lifetime service hours from which a volunteer holds one to five stars (一星 … 五星),
#: the thresholds of the national volunteer service record (志愿服务记录办法)
STAR_HOURS = (100, 300, 600, 1000, 1500)


def stars(minutes: int) -> int:
    """How many stars ``minutes`` of service time earn (0 to 5)."""
    return sum(1 for hours in STAR_HOURS if minutes >= hours * 60)


def next_star_hours(minutes: int) -> int | None:
    """The hours the next star needs (None at five stars)."""
    return next((hours for hours in STAR_HOURS if minutes < hours * 60), None)


def quarter_of_month(period: str) -> str:
    """``2026-05`` → ``2026-Q2``."""
    return f"{period[:4]}-Q{(int(period[5:7]) - 1) // 3 + 1}"


def new_totals(account_id: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "incident_awards": 0,
        "handling_awards": 0,
        "activity_awards": 0,
        "corrected": 0,
        "minutes": 0,
        "attendances": 0,
    }


class Recognition:
    """One batch of the ``recognition`` projection."""

    name = "recognition"
    tables: tuple[Table, ...] = (
        t.volunteer_totals,
        t.volunteer_quarters,
        t.recognition_subjects,
    )

    def __init__(self, calendar: ProgrammeCalendar) -> None:
        self.calendar = calendar
        self.dispatch = DISPATCH

    def apply(self, conn: Connection, events: list[StoredEvent]) -> None:
        batch = _Batch(conn, LocalMonths(self.calendar.zone))
        handler = self.dispatch.handler
        relevant = [(e, h) for e in events if (h := handler(e.topic)) is not None]
        batch.prefetch([e for e, _ in relevant])
        for event, handle in relevant:
            handle(batch, event)
        batch.flush()


class _Batch:
    def __init__(self, conn: Connection, months: LocalMonths) -> None:
        self.months = months
        self.totals = Rows(conn, t.volunteer_totals)
        self.quarters = Rows(conn, t.volunteer_quarters)
        self.subjects = Rows(conn, t.recognition_subjects)

    def prefetch(self, events: list[StoredEvent]) -> None:
        """Read the rows the batch will touch in a few queries (a row missed here is read
        on its own when asked for: slower, never wrong)."""
        created = {e.id for e in events if e.version == 1}
        self.subjects.prefetch({e.id for e in events if e.id not in created})
        people: set[str] = set()
        for event in events:
            data = event.data
            if event.topic in _SUBMITTED:
                people.add(data["reporter_id"])
            elif event.topic in _NAMING:
                people.update(data.get("handler_ids") or data.get("account_ids") or ())
                people.add(data.get("account_id") or "")
            elif event.id not in created and (row := self.subjects.get(event.id)) is not None:
                people.update(row["handler_ids"])
                if row["reporter_id"]:
                    people.add(row["reporter_id"])
        people.discard("")
        self.totals.prefetch(people)
        quarters = {self.quarter(e.at) for e in events}
        quarters |= {self.quarter(e.data["starts_at"]) for e in events if e.topic in _CREATED}
        quarters |= {
            q for e in events if e.id not in created and (q := self._start_quarter(e)) is not None
        }
        self.quarters.prefetch((q, p) for q in quarters for p in people)

    def _start_quarter(self, event: StoredEvent) -> str | None:
        moment = event.data.get("starts_at") or event.data.get("credited_at")
        if moment is None:
            row = self.subjects.get(event.id) if event.topic in _CONFIRMED else None
            return row["quarter"] if row else None
        return self.quarter(moment)

    def flush(self) -> None:
        for rows in (self.totals, self.quarters, self.subjects):
            rows.flush()

    def quarter(self, at: Any) -> str:
        return quarter_of_month(self.months(at))

    def total(self, account_id: str) -> dict[str, Any]:
        return self.totals.get_or_put(account_id, new_totals(account_id))

    def in_quarter(self, quarter: str, account_id: str) -> dict[str, Any]:
        return self.quarters.get_or_put(
            (quarter, account_id),
            {
                "quarter": quarter,
                "account_id": account_id,
                "earned": 0,
                "corrected": 0,
                "minutes": 0,
            },
        )

    def earned(self, event: StoredEvent, account_id: str, kind: str, amount: int) -> None:
        if amount <= 0:
            return
        self.total(account_id)[kind] += amount
        self.in_quarter(self.quarter(event.at), account_id)["earned"] += amount

    def subject(self, subject_id: str) -> dict[str, Any]:
        return self.subjects.get_or_put(
            subject_id,
            {
                "id": subject_id,
                "reporter_id": None,
                "handler_ids": [],
                "minutes": None,
                "quarter": None,
            },
        )

    # --- incidents --------------------------------------------------------------------

    def submitted(self, event: StoredEvent) -> None:
        self.subject(event.id)["reporter_id"] = event.data["reporter_id"]

    def handlers_assigned(self, event: StoredEvent) -> None:
        self.subject(event.id)["handler_ids"] = list(event.data["handler_ids"])

    def verified(self, event: StoredEvent) -> None:
        reporter = self.subject(event.id)["reporter_id"]
        if reporter:
            self.earned(event, reporter, "incident_awards", event.data["award"])

    def resolved(self, event: StoredEvent) -> None:
        for handler_id in self.subject(event.id)["handler_ids"]:
            self.earned(event, handler_id, "handling_awards", event.data["award_per_handler"])

    # --- activities -------------------------------------------------------------------

    def activity_created(self, event: StoredEvent) -> None:
        data = event.data
        minutes = max(0, int((data["ends_at"] - data["starts_at"]).total_seconds()) // 60)
        row = self.subject(event.id)
        row["minutes"], row["quarter"] = minutes, self.quarter(data["starts_at"])

    def attendance_confirmed(self, event: StoredEvent) -> None:
        activity = self.subject(event.id)
        minutes, quarter = activity["minutes"] or 0, activity["quarter"] or self.quarter(event.at)
        for account_id in event.data["account_ids"]:
            self.earned(event, account_id, "activity_awards", event.data["beans"])
            total = self.total(account_id)
            total["minutes"] += minutes
            total["attendances"] += 1
            self.in_quarter(quarter, account_id)["minutes"] += minutes

    # --- corrections of awards ----------------------------------------------------------

    def award_corrected(self, event: StoredEvent) -> None:
        data = event.data
        account_id, amount = data["account_id"], data["amount"]
        self.total(account_id)["corrected"] += amount
        self.in_quarter(self.quarter(data["credited_at"]), account_id)["corrected"] += amount


Handler = Callable[[_Batch, StoredEvent], None]

HANDLERS: dict[type, Handler] = {
    Incident.Submitted: _Batch.submitted,
    Incident.HandlersAssigned: _Batch.handlers_assigned,
    Incident.Verified: _Batch.verified,
    Incident.Resolved: _Batch.resolved,
    Incident.CreditCorrected: _Batch.award_corrected,
    Activity.Created: _Batch.activity_created,
    Activity.AttendanceConfirmed: _Batch.attendance_confirmed,
    Activity.AttendanceConfirmedByLeader: _Batch.attendance_confirmed,  # a team leader's
    Activity.CreditCorrected: _Batch.award_corrected,
}

IGNORED: frozenset[type] = QUIET | {
    Incident.Rejected,  # no award, no time
    Incident.MarkedDuplicate,
    Activity.CheckedIn,  # counts once confirmed
    Settlement.Prepared,  # shops' money
    Settlement.Approved,
    Settlement.LinePaid,
    Settlement.Cancelled,
}

DISPATCH: Dispatch[Handler] = Dispatch(HANDLERS, IGNORED)

# For prefetching: events that name the people they concern.
_SUBMITTED = topics([Incident.Submitted])
_NAMING = topics(
    [
        Incident.HandlersAssigned,
        Activity.AttendanceConfirmed,
        Activity.AttendanceConfirmedByLeader,
        Incident.CreditCorrected,
        Activity.CreditCorrected,
    ]
)
_CONFIRMED = topics([Activity.AttendanceConfirmed, Activity.AttendanceConfirmedByLeader])
_CREATED = topics([Activity.Created])
