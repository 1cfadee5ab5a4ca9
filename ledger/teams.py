"""Teams (队伍: 安全小红帽, 巾帼志愿队 …) and grids (网格), as the community organises people
(issue 18).

A team's or a grid's name is not personal data: it is in the log. What grants powers is in
the log too, as events by the staff user who gave it: a team's **leaders** (volunteer
accounts that confirm attendance at the team's activities and check members in without a
phone) and a grid's **heads** (accounts that see the grid's incident queue). Who is a
*member* of a team is the member's record (the team labels kept in the personal-data
store, ledger/people.py): a team named like a label has the members who carry it, and
the log never lists them.

Ids are derived from the name (``team/<name>``, ``grid/<name>``), so one name is one team.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import NotTeamLeader
from ledger.ids import derived_id


def team_id_for(name: str) -> UUID:
    return derived_id("team", name)


def grid_id_for(name: str) -> UUID:
    return derived_id("grid", name)


class Team(Aggregate):
    if TYPE_CHECKING:  # set by the events
        name: str
        leader_ids: list[str]
        public: bool

    class Created(Aggregate.Created):
        name: str
        by: str

        def apply(self, team: Team) -> None:
            team.name = self.name
            team.leader_ids = []
            team.public = False

    class LeaderAppointed(Aggregate.Event):
        account_id: str
        by: str

        def apply(self, team: Team) -> None:
            team.leader_ids.append(self.account_id)

    class LeaderRemoved(Aggregate.Event):
        account_id: str
        by: str

        def apply(self, team: Team) -> None:
            team.leader_ids.remove(self.account_id)

    class PublicChoiceMade(Aggregate.Event):
        """Whether the team's figures (never names) are on the public site."""

        public: bool
        by: str

        def apply(self, team: Team) -> None:
            team.public = self.public

    def appoint(self, account_id: str, by: str) -> bool:
        if account_id in self.leader_ids:
            return False
        self.trigger_event(self.LeaderAppointed, account_id=account_id, by=by)
        return True

    def remove(self, account_id: str, by: str) -> bool:
        if account_id not in self.leader_ids:
            return False
        self.trigger_event(self.LeaderRemoved, account_id=account_id, by=by)
        return True

    def choose_public(self, public: bool, by: str) -> bool:
        if public == self.public:
            return False
        self.trigger_event(self.PublicChoiceMade, public=public, by=by)
        return True

    def check_led_by(self, account_id: str | None) -> None:
        if account_id is None or account_id not in self.leader_ids:
            raise NotTeamLeader("only a leader of this activity's team may do this")


class Grid(Aggregate):
    if TYPE_CHECKING:
        name: str
        head_ids: list[str]

    class Created(Aggregate.Created):
        name: str
        by: str

        def apply(self, grid: Grid) -> None:
            grid.name = self.name
            grid.head_ids = []

    class HeadAppointed(Aggregate.Event):
        account_id: str
        by: str

        def apply(self, grid: Grid) -> None:
            grid.head_ids.append(self.account_id)

    class HeadRemoved(Aggregate.Event):
        account_id: str
        by: str

        def apply(self, grid: Grid) -> None:
            grid.head_ids.remove(self.account_id)

    def appoint(self, account_id: str, by: str) -> bool:
        if account_id in self.head_ids:
            return False
        self.trigger_event(self.HeadAppointed, account_id=account_id, by=by)
        return True

    def remove(self, account_id: str, by: str) -> bool:
        if account_id not in self.head_ids:
            return False
        self.trigger_event(self.HeadRemoved, account_id=account_id, by=by)
        return True
