"""Commands that award beans: incidents (SPEC §4) and activities."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import uuid4

from ledger import codes
from ledger.accounts import ISSUANCE, Flow, Volunteer
from ledger.activities import Activity
from ledger.core import LedgerCore, as_uuid, check_text, optional_text
from ledger.errors import (
    AwardCapExceeded,
    InvalidCode,
    NoHandlers,
    NotTeamLeader,
    SelfVerification,
    ValidationError,
)
from ledger.ids import derived_id
from ledger.incidents import Incident
from ledger.records import CheckinCodeClaimed
from ledger.teams import Grid, Team, grid_id_for
from ledger.views import (
    ActivityView,
    Actor,
    CheckinView,
    ConfirmationView,
    IncidentView,
    canonical_id,
)

#: how far from today an activity may start or end
ACTIVITY_HORIZON = timedelta(days=366)


class AwardCommands(LedgerCore):
    def award_all(
        self, volunteer_ids: list[str], amount: int, ref: object, at: datetime
    ) -> list[Volunteer]:
        """Load the volunteers and credit each ``amount`` from issuance, or raise
        AwardCapExceeded naming everyone the award would take past the daily cap.
        The caller saves them with the aggregate that caused the award."""
        volunteers = [self.load(v, Volunteer, "volunteer account") for v in volunteer_ids]
        if amount == 0:
            return []
        day, cap = self.day_of(at), self.rules_at(at).daily_award_cap
        refused = []
        for volunteer in volunteers:
            try:
                volunteer.check_award_cap(amount, day, cap)
            except AwardCapExceeded as error:  # named for the coordinator, from beside the log
                name = self.personal.get(str(volunteer.id)).get("display_name", str(volunteer.id))
                refused.append(str(error).replace("this volunteer", name, 1))
        if refused:
            raise AwardCapExceeded("; ".join(refused))
        for volunteer in volunteers:
            self.transfer(Flow.AWARD, amount, ISSUANCE, volunteer, ref, at)
        return volunteers

    # --- incidents ---------------------------------------------------------------------

    def submit_incident(
        self,
        reporter_id: object,
        category: str,
        description: str,
        location: str | None = None,
        urgent: bool = False,
        *,
        key: str | None = None,
        grid_id: object | None = None,
    ) -> IncidentView:
        """A volunteer reports an incident; it waits for a coordinator to verify it.
        It is placed in ``grid_id`` if given (NotFound for no grid), else in the grid
        the reporter's record names, if there is a grid of that name.

        With ``key``, a repeat returns the first report and records nothing."""
        self.base_rules.check_incident_category(category)
        description = check_text(description, "description", max_length=2000)
        location = optional_text(location, "location", max_length=200)
        reporter_uuid = as_uuid(reporter_id, "volunteer account")
        record_id = derived_id("incident", reporter_uuid, key) if key is not None else uuid4()
        replay = self.keyed(
            key,
            record_id,
            Incident,
            lambda i: (i.category, i.description) == (category, description),
            incident_view,
            "incident",
        )

        def attempt() -> IncidentView:
            reporter = self.load(reporter_uuid, Volunteer, "volunteer account")
            incident = Incident._create(
                Incident.Submitted,
                id=record_id,
                timestamp=self.now(),
                reporter_id=str(reporter.id),
                category=category,
                description=description,
                location=location,
                urgent=bool(urgent),
            )
            grid = self.grid_for_report(str(reporter.id), grid_id)
            if grid is not None:
                incident.place_in_grid(grid, None)
            self.save(incident)
            return incident_view(incident)

        return self.run(attempt, "submitting an incident", replay)

    def grid_for_report(self, reporter_id: str, grid_id: object | None) -> str | None:
        """The grid a report goes to: the one chosen, or the one the reporter's record
        names (a label with no grid of that name places it nowhere)."""
        if grid_id is not None and str(grid_id).strip():
            return str(self.load(grid_id, Grid, "grid").id)
        label = self.personal.get(reporter_id).get("grid")
        if not label:
            return None
        grid = self.find(grid_id_for(label), Grid)
        return str(grid.id) if grid is not None else None

    def verify_incident(
        self, incident_id: object, by: Actor, award: int | None = None
    ) -> IncidentView:
        """Verify a submitted incident and award its reporter (the category's award
        unless the coordinator sets another between 0 and 100).

        Raises SelfVerification when the coordinator reported or handles it,
        AwardCapExceeded when the reporter would pass the daily cap, InvalidState when
        it is not waiting for verification.
        """

        def attempt() -> IncidentView:
            incident = self.load(incident_id, Incident, "incident")
            incident.check_status("submitted", doing="verify")
            incident.check_not_involved(by.account_id, "verify")
            at = self.now()
            rules = self.rules_at(at)
            beans = (
                rules.incident_awards[incident.category]
                if award is None
                else rules.check_award(award)
            )
            reporter = self.award_all([incident.reporter_id], beans, incident.id, at)
            incident.verify(by.name, beans, at)
            self.save(incident, *reporter)
            return incident_view(incident)

        return self.run(attempt, "verifying an incident")

    def reject_incident(self, incident_id: object, by: Actor, reason: str) -> IncidentView:
        reason = check_text(reason, "reason", max_length=500)
        return self._change_incident(
            incident_id, "rejecting", lambda i, at: i.reject(by.name, reason, at)
        )

    def mark_duplicate(self, incident_id: object, by: Actor, of: object) -> IncidentView:
        """Close a submitted incident as a duplicate of another one; nobody is awarded."""
        original = self.load(of, Incident, "incident")
        return self._change_incident(
            incident_id,
            "marking a duplicate",
            lambda i, at: i.mark_duplicate(by.name, str(original.id), at),
        )

    def assign_handlers(
        self, incident_id: object, by: Actor, account_ids: Sequence[object]
    ) -> IncidentView:
        """Name the volunteers who handle an incident; they are awarded when it is resolved."""
        if not account_ids:
            raise ValidationError("name at least one handler")
        handlers = [str(self.load(a, Volunteer, "volunteer account").id) for a in account_ids]
        return self._change_incident(
            incident_id,
            "assigning handlers",
            lambda i, at: i.assign_handlers(by.name, handlers, at),
        )

    def resolve_incident(
        self,
        incident_id: object,
        by: Actor,
        award_per_handler: int | None = None,
        *,
        no_award: bool = False,
    ) -> IncidentView:
        """Resolve a verified incident and award each handler (5 beans unless set); the
        view's ``award_per_handler`` and ``handler_ids`` say what was awarded. With
        ``no_award`` nobody is awarded (award_per_handler 0).

        Raises NoHandlers when it has no handlers and ``no_award`` is not given,
        SelfVerification, AwardCapExceeded (naming the handlers) or InvalidState;
        ValidationError for ``no_award`` with an award.
        """
        if no_award and award_per_handler:
            raise ValidationError("no_award resolves without an award_per_handler")
        if award_per_handler is not None:
            self.rules.check_award(award_per_handler)

        def attempt() -> IncidentView:
            incident = self.load(incident_id, Incident, "incident")
            incident.check_status("verified", doing="resolve")
            incident.check_not_involved(by.account_id, "resolve")
            if not incident.handler_ids and not no_award:
                raise NoHandlers(
                    "this incident has no handlers: name them first, or resolve it with "
                    "no_award to award nobody"
                )
            at = self.now()
            rules = self.rules_at(at)
            beans = (
                0
                if no_award
                else rules.handler_award
                if award_per_handler is None
                else rules.check_award(award_per_handler)
            )
            handlers = self.award_all(incident.handler_ids, beans, incident.id, at)
            incident.resolve(by.name, beans, at)
            self.save(incident, *handlers)
            return incident_view(incident)

        return self.run(attempt, "resolving an incident")

    def _change_incident(self, incident_id: object, what: str, change) -> IncidentView:
        def attempt() -> IncidentView:
            incident = self.load(incident_id, Incident, "incident")
            change(incident, self.now())
            self.save(incident)
            return incident_view(incident)

        return self.run(attempt, f"{what} an incident")

    def get_incident(self, incident_id: object) -> IncidentView:
        return incident_view(self.load(incident_id, Incident, "incident"))

    # --- activities --------------------------------------------------------------------

    def create_activity(
        self,
        title: str,
        starts_at: datetime,
        ends_at: datetime,
        beans: int,
        by: Actor,
        *,
        key: str | None = None,
        team_id: object | None = None,
    ) -> ActivityView:
        """Create an activity whose check-in code works from ``starts_at`` to ``ends_at``,
        the team's if ``team_id`` is given (its leaders then confirm its attendance).

        With ``key``, a repeat returns the first activity and records nothing."""
        title = check_text(title, "title", max_length=200)
        beans = self.rules.check_award(beans)
        for moment in (starts_at, ends_at):
            if not isinstance(moment, datetime) or moment.tzinfo is None:
                raise ValidationError("starts_at and ends_at must be timezone-aware date-times")
        if ends_at <= starts_at:
            raise ValidationError("an activity must end after it starts")
        now = self.now()
        if not (now - ACTIVITY_HORIZON <= starts_at and ends_at <= now + ACTIVITY_HORIZON):
            raise ValidationError("an activity must start and end within a year of today")
        record_id = derived_id("activity", by.name, key) if key is not None else uuid4()
        replay = self.keyed(
            key,
            record_id,
            Activity,
            lambda a: (
                (a.title, a.starts_at, a.ends_at, a.beans) == (title, starts_at, ends_at, beans)
            ),
            self.activity_view,
            "activity",
        )

        def attempt() -> ActivityView:
            at, code = self.now(), codes.new_checkin_code()
            # The code is a secret while the activity runs: beside the log, by digest in it.
            self.personal.put(str(record_id), {"checkin_code": code})
            activity = Activity._create(
                Activity.Created,
                id=record_id,
                timestamp=at,
                title=title,
                starts_at=starts_at,
                ends_at=ends_at,
                beans=beans,
                checkin_digest=self.digest("checkin-code", code),
                by=by.name,
            )
            if team_id is not None:
                activity.assign_team(str(self.load(team_id, Team, "team").id), by.name)
            claim = CheckinCodeClaimed._create(
                CheckinCodeClaimed.Claimed,
                id=derived_id("checkin-code", self.digest("checkin-code", code)),
                timestamp=at,
                activity_id=str(activity.id),
            )
            self.save(activity, claim)  # a code drawn twice fails the save, and is drawn again
            return self.activity_view(activity)

        return self.run(attempt, "creating an activity", replay)

    def check_in(self, activity_id: object, account_id: object, checkin_code: str) -> CheckinView:
        """A volunteer checks in with the code shown at the activity, while it runs.

        Raises InvalidCode for a wrong code and ActivityNotRunning outside its times;
        checking in twice is harmless.
        """
        code = codes.parse_checkin_code(checkin_code)

        def attempt() -> CheckinView:
            activity = self.load(activity_id, Activity, "activity")
            volunteer = self.load(account_id, Volunteer, "volunteer account")
            new = activity.check_in(
                str(volunteer.id), self.digest("checkin-code", code), self.now()
            )
            if new:
                self.save(activity)
            return CheckinView(str(activity.id), str(volunteer.id), new)

        return self.run(attempt, "checking in")

    def confirm_attendance(
        self,
        activity_id: object,
        by: Actor,
        account_ids: Sequence[object] | None = None,
        *,
        as_leader: bool = False,
    ) -> ConfirmationView:
        """Confirm who attended (everyone checked in, or the given ones) and award each
        attendee once. Raises AwardCapExceeded naming anyone the award would take past
        the daily cap, and awards nobody in that case; SelfVerification when the
        confirmer's own account is among them (someone else confirms it).

        ``as_leader``: ``by`` is a volunteer confirming as a leader of the activity's
        team (NotTeamLeader unless their account leads it); recorded by their account."""
        chosen = None if account_ids is None else [canonical_id(a) for a in account_ids]

        def attempt() -> ConfirmationView:
            activity = self.load(activity_id, Activity, "activity")
            if as_leader:
                self.check_leads_activity(activity, by)
            attendees = activity.attendees_to_confirm(chosen)
            if not attendees:
                return ConfirmationView(str(activity.id), 0, [])
            if any(by.owns(attendee) for attendee in attendees):
                raise SelfVerification(
                    "you attended this activity, so someone else must confirm your attendance"
                )
            at = self.now()
            volunteers = self.award_all(attendees, activity.beans, activity.id, at)
            activity.confirm(by.name, attendees, at, by.account_id if as_leader else None)
            self.save(activity, *volunteers)
            return ConfirmationView(str(activity.id), len(attendees), attendees)

        return self.run(attempt, "confirming attendance")

    def check_leads_activity(self, activity: Activity, by: Actor) -> None:
        """NotTeamLeader unless ``by``'s account leads the activity's team."""
        team = None if activity.team_id is None else self.find(as_uuid(activity.team_id), Team)
        if team is None:
            raise NotTeamLeader("this activity is no team's: a coordinator confirms it")
        team.check_led_by(by.account_id)

    def activity_for_checkin_code(self, checkin_code: str) -> ActivityView:
        """The activity whose check-in code this is (InvalidCode if none is)."""
        code = codes.parse_checkin_code(checkin_code)
        claim = self.find(
            derived_id("checkin-code", self.digest("checkin-code", code)), CheckinCodeClaimed
        )
        if claim is None:
            raise InvalidCode("no activity has this check-in code")
        return self.get_activity(claim.activity_id)

    def get_activity(self, activity_id: object) -> ActivityView:
        return self.activity_view(self.load(activity_id, Activity, "activity"))

    def activity_view(self, activity: Activity) -> ActivityView:
        return ActivityView(
            id=str(activity.id),
            title=activity.title,
            starts_at=activity.starts_at,
            ends_at=activity.ends_at,
            beans=activity.beans,
            checkin_code=self.personal.get(str(activity.id)).get("checkin_code", ""),
            checked_in=list(activity.checked_in),
            confirmed=list(activity.confirmed),
            team_id=activity.team_id,
        )


def incident_view(incident: Incident) -> IncidentView:
    return IncidentView(
        id=str(incident.id),
        status=incident.status,
        category=incident.category,
        reporter_id=incident.reporter_id,
        description=incident.description,
        location=incident.location,
        urgent=incident.urgent,
        handler_ids=list(incident.handler_ids),
        award=incident.award,
        award_per_handler=incident.award_per_handler,
        reason=incident.reason,
        duplicate_of=incident.duplicate_of,
        at=incident.created_on,
        grid_id=incident.grid_id,
    )
