"""Teams' and grids' figures (issue 18), shared by the API and the pages. Bottom floor.

A team's members are the members whose record carries the team's name; a grid's, those
whose record names the grid. The figures:

- ``members``: how many members carry the label;
- ``activities``: a team's activities (a grid has none: None);
- ``beans_earned``: beans awarded by the team's activities, or by the grid's incidents
  (reporters' and handlers' awards), corrections not deducted;
- ``incidents_verified``: a team's members' reports that were verified (or since
  resolved); a grid's incidents that were.

No names: a public team's figures are counts and beans.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.roster import Member, Reader, directory
from ledger.application import Ledger
from ledger.views import GridView, TeamView
from projections import queries


@dataclass(frozen=True)
class Figures:
    id: str
    name: str
    members: int
    activities: int | None
    beans_earned: int
    incidents_verified: int
    public: bool = False


def team_figures(ledger: Ledger, read: Reader, teams: list[TeamView]) -> list[Figures]:
    if not teams:
        return []
    everyone = directory(ledger, read, "volunteer")
    found = []
    with read() as conn:
        for team in teams:
            members = [m.id for m in everyone if team.name in m.record.teams]
            found.append(
                Figures(
                    id=team.id,
                    name=team.name,
                    members=len(members),
                    activities=len(team.activity_ids),
                    beans_earned=queries.awards_by_ref(conn, team.activity_ids),
                    incidents_verified=queries.verified_incidents_reported_by(conn, members),
                    public=team.public,
                )
            )
    return found


def grid_figures(ledger: Ledger, read: Reader, grids: list[GridView]) -> list[Figures]:
    if not grids:
        return []
    everyone = directory(ledger, read)
    found = []
    with read() as conn:
        for grid in grids:
            incidents = queries.incidents_among(conn, grid.incident_ids)
            found.append(
                Figures(
                    id=grid.id,
                    name=grid.name,
                    members=sum(1 for m in everyone if m.record.grid == grid.name),
                    activities=None,
                    beans_earned=queries.awards_by_ref(conn, grid.incident_ids),
                    incidents_verified=sum(
                        1 for i in incidents if i["status"] in ("verified", "resolved")
                    ),
                )
            )
    return found


def grid_queue(read: Reader, grid: GridView) -> list[dict]:
    """The grid's incidents as the read model has them, urgent first, newest first."""
    with read() as conn:
        return queries.incidents_among(conn, grid.incident_ids)


def members_of(members: list[Member], team: TeamView) -> list[Member]:
    return [m for m in members if team.name in m.record.teams]
