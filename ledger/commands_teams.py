"""Commands and queries about teams and grids (issue 18; ledger/teams.py): coordinators
create them and name their leaders and heads; an activity is assigned to a team, an
incident placed in a grid; a leader or a coordinator checks a member in by number.

Leaders' and heads' powers are events in the log, by the staff user who gave them; a
team's members are the members whose record carries the team's name (personal data,
beside the log).
"""

from __future__ import annotations

import re
import unicodedata
from uuid import UUID

from ledger.accounts import Beneficiary, Volunteer
from ledger.activities import Activity
from ledger.commands_awards import AwardCommands
from ledger.commands_members import MemberCommands
from ledger.core import check_text
from ledger.errors import InvalidCode, InvalidState, NotFound, SelfVerification, ValidationError
from ledger.incidents import Incident
from ledger.organisation import OrganisationIndex, Unit
from ledger.people import MAX_LABEL
from ledger.teams import Grid, Team, grid_id_for, team_id_for
from ledger.views import Actor, CheckinView, GridView, TeamView

#: how a typed number looks: an 8-digit account number, or a 17-digit card code
_ACCOUNT_NUMBER = re.compile(r"[1-9][0-9]{7}")


def clean_label(name: object, what: str) -> str:
    """A team's or grid's name as kept: trimmed, inner spaces single, at most 40 characters."""
    text = check_text(name, what, max_length=MAX_LABEL * 4)
    text = " ".join(text.split())
    if len(text) > MAX_LABEL:
        raise ValidationError(f"{what} is longer than {MAX_LABEL} characters")
    if any(unicodedata.category(c) == "Cf" for c in text):
        raise ValidationError(f"{what} contains invisible characters")
    return text


class TeamCommands(AwardCommands, MemberCommands):
    @property
    def organisation(self) -> OrganisationIndex:
        found = self.__dict__.get("_organisation")
        if found is None:
            found = self.__dict__["_organisation"] = OrganisationIndex(self)
        return found

    # --- teams ------------------------------------------------------------------------

    def create_team(self, name: object, by: Actor) -> TeamView:
        """Create a team named ``name`` (one team a name: InvalidState for a second).
        Members whose record names the team are its members from now on."""
        name = clean_label(name, "name")
        team_id = team_id_for(name)

        def attempt() -> TeamView:
            if self.exists(team_id):
                raise InvalidState(f"there is already a team named {name}")
            team = Team._create(
                Team.Created, id=team_id, timestamp=self.now(), name=name, by=by.name
            )
            self.save(team)
            return self.team_view(team)

        return self.run(attempt, "creating a team")

    def appoint_leader(self, team_id: object, account_id: object, by: Actor) -> TeamView:
        """Make a volunteer a leader of the team (nothing new if they are one)."""
        return self._change_team(team_id, by, lambda t, v: t.appoint(v, by.name), account_id)

    def remove_leader(self, team_id: object, account_id: object, by: Actor) -> TeamView:
        return self._change_team(team_id, by, lambda t, v: t.remove(v, by.name), account_id)

    def set_leaders(self, team_id: object, account_ids: list[object], by: Actor) -> TeamView:
        """Make exactly these volunteers the team's leaders (one event each appointed or
        removed, all in one save)."""

        def attempt() -> TeamView:
            team = self.load(team_id, Team, "team")
            wanted = [
                str(self.load(a, Volunteer, "volunteer account").id)
                for a in dict.fromkeys(account_ids)
            ]
            changed = [team.remove(a, by.name) for a in list(team.leader_ids) if a not in wanted]
            changed += [team.appoint(a, by.name) for a in wanted]
            if any(changed):
                self.save(team)
            return self.team_view(team)

        return self.run(attempt, "naming a team's leaders")

    def set_team_public(self, team_id: object, public: bool, by: Actor) -> TeamView:
        """Whether the team's figures (counts and beans, never names) are public."""
        return self._change_team(team_id, by, lambda t, _v: t.choose_public(bool(public), by.name))

    def _change_team(self, team_id, by: Actor, change, account_id: object = None) -> TeamView:
        def attempt() -> TeamView:
            team = self.load(team_id, Team, "team")
            volunteer = None
            if account_id is not None:
                volunteer = str(self.load(account_id, Volunteer, "volunteer account").id)
            if change(team, volunteer):
                self.save(team)
            return self.team_view(team)

        return self.run(attempt, "changing a team")

    def get_team(self, team_id: object) -> TeamView:
        return self.team_view(self.load(team_id, Team, "team"))

    def team_view(self, team: Team) -> TeamView:
        unit = self.organisation.unit(str(team.id))
        return TeamView(
            id=str(team.id),
            name=team.name,
            leader_ids=list(team.leader_ids),
            public=team.public,
            activity_ids=list(unit.items) if unit else [],
        )

    def list_teams(self) -> list[TeamView]:
        """Every team, by name."""
        return [_team(u) for u in self.organisation.units("team")]

    def teams_led_by(self, account_id: str | None) -> list[TeamView]:
        """The teams whose leaders include this account (none without one)."""
        if account_id is None:
            return []
        return [t for t in self.list_teams() if str(account_id) in t.leader_ids]

    # --- grids ------------------------------------------------------------------------

    def create_grid(self, name: object, by: Actor) -> GridView:
        """Create a grid named ``name`` (InvalidState for a second of the same name).
        A report from a member whose record names the grid is placed in it."""
        name = clean_label(name, "name")
        grid_id = grid_id_for(name)

        def attempt() -> GridView:
            if self.exists(grid_id):
                raise InvalidState(f"there is already a grid named {name}")
            grid = Grid._create(
                Grid.Created, id=grid_id, timestamp=self.now(), name=name, by=by.name
            )
            self.save(grid)
            return self.grid_view(grid)

        return self.run(attempt, "creating a grid")

    def appoint_head(self, grid_id: object, account_id: object, by: Actor) -> GridView:
        """Make a volunteer's account (a volunteer's, or the one a coordinator's user is
        linked to) a head of the grid."""
        return self._change_grid(grid_id, lambda g, v: g.appoint(v, by.name), account_id)

    def set_heads(self, grid_id: object, account_ids: list[object], by: Actor) -> GridView:
        """Make exactly these accounts the grid's heads."""

        def attempt() -> GridView:
            grid = self.load(grid_id, Grid, "grid")
            wanted = [
                str(self.load(a, Volunteer, "volunteer account").id)
                for a in dict.fromkeys(account_ids)
            ]
            changed = [grid.remove(a, by.name) for a in list(grid.head_ids) if a not in wanted]
            changed += [grid.appoint(a, by.name) for a in wanted]
            if any(changed):
                self.save(grid)
            return self.grid_view(grid)

        return self.run(attempt, "naming a grid's heads")

    def remove_head(self, grid_id: object, account_id: object, by: Actor) -> GridView:
        return self._change_grid(grid_id, lambda g, v: g.remove(v, by.name), account_id)

    def _change_grid(self, grid_id, change, account_id: object) -> GridView:
        def attempt() -> GridView:
            grid = self.load(grid_id, Grid, "grid")
            volunteer = str(self.load(account_id, Volunteer, "volunteer account").id)
            if change(grid, volunteer):
                self.save(grid)
            return self.grid_view(grid)

        return self.run(attempt, "changing a grid")

    def get_grid(self, grid_id: object) -> GridView:
        return self.grid_view(self.load(grid_id, Grid, "grid"))

    def grid_view(self, grid: Grid) -> GridView:
        unit = self.organisation.unit(str(grid.id))
        return GridView(
            id=str(grid.id),
            name=grid.name,
            head_ids=list(grid.head_ids),
            incident_ids=list(unit.items) if unit else [],
        )

    def list_grids(self) -> list[GridView]:
        return [_grid(u) for u in self.organisation.units("grid")]

    def grids_headed_by(self, account_id: str | None) -> list[GridView]:
        if account_id is None:
            return []
        return [g for g in self.list_grids() if str(account_id) in g.head_ids]

    # --- placing activities and incidents -----------------------------------------------

    def assign_activity(self, activity_id: object, team_id: object | None, by: Actor) -> str | None:
        """Make the activity the team's (None: no team's); answers the team's id."""

        def attempt() -> str | None:
            activity = self.load(activity_id, Activity, "activity")
            team = None if team_id is None else str(self.load(team_id, Team, "team").id)
            activity.assign_team(team, by.name)
            self.save(activity)
            return activity.team_id

        return self.run(attempt, "assigning an activity")

    def place_incident(self, incident_id: object, grid_id: object | None, by: Actor) -> str | None:
        """Place the incident in a grid (None: in none), as a coordinator."""

        def attempt() -> str | None:
            incident = self.load(incident_id, Incident, "incident")
            grid = None if grid_id is None else str(self.load(grid_id, Grid, "grid").id)
            incident.place_in_grid(grid, by.name)
            self.save(incident)
            return incident.grid_id

        return self.run(attempt, "placing an incident")

    def team_of_activity(self, activity_id: str) -> str | None:
        return self.organisation.placed_in(activity_id)

    def grid_of_incident(self, incident_id: str) -> str | None:
        return self.organisation.placed_in(incident_id)

    # --- people without phones ---------------------------------------------------------

    def check_in_by_number(
        self, activity_id: object, number: str, by: Actor, *, as_leader: bool = False
    ) -> CheckinView:
        """Check a member in at an activity with their account number (8 digits, on
        their record and card) or a card code, while it runs, recorded as a manual
        check-in by ``by``: a staff user, or (``as_leader``) a leader of the activity's
        team. Once per activity, like a scan; confirmation awards it as usual.

        Raises NotTeamLeader when ``as_leader`` and ``by`` leads no team of the
        activity; SelfVerification for one's own account (someone else checks you in);
        InvalidCode for an unknown number (the API counts it as a guess);
        ValidationError for a beneficiary's card (activities award volunteers);
        ActivityNotRunning outside its times."""
        account_id = self._volunteer_for_number(number)

        def attempt() -> CheckinView:
            activity = self.load(activity_id, Activity, "activity")
            if as_leader:
                self.check_leads_activity(activity, by)
            if by.owns(account_id):
                raise SelfVerification("someone else must check you in")
            new = activity.check_in_manually(
                account_id,
                self.now(),
                by=None if as_leader else by.name,
                leader_id=by.account_id if as_leader else None,
            )
            if new:
                self.save(activity)
            return CheckinView(str(activity.id), account_id, new)

        return self.run(attempt, "checking in by number")

    def _volunteer_for_number(self, number: str) -> str:
        digits = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", str(number)))
        try:
            if _ACCOUNT_NUMBER.fullmatch(digits):
                account_id = self.account_id_for_number(digits)
            elif len(digits) == 17 and digits.isdigit():
                account_id = str(self.beneficiary_for_card(digits).id)
            else:
                raise ValidationError("give the member's 8-digit number or their card's number")
        except (NotFound, InvalidCode):
            raise InvalidCode("no member has this number") from None
        account = self.load_account(UUID(account_id))
        if isinstance(account, Beneficiary):
            raise ValidationError("this is a resident's card: activities award volunteers")
        return str(account.id)


def _team(unit: Unit) -> TeamView:
    return TeamView(unit.id, unit.name, list(unit.leaders), unit.public, list(unit.items))


def _grid(unit: Unit) -> GridView:
    return GridView(unit.id, unit.name, list(unit.leaders), list(unit.items))
