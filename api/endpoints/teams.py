"""Teams and grids (issue 18): coordinators create them and name their leaders and heads;
a grid's heads read its incident queue; a team that opts in shows its figures (counts and
beans, no names) on the public site.

Members belong to a team by their record's team labels (``GET /accounts?team=``); the
log holds only the teams, the grids and who leads or heads them.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.context import ledger_of, reading
from api.security import actor, caller, forbid_unless, requires
from api.teams import grid_figures, grid_queue, team_figures

blp = Blueprint("teams", __name__, url_prefix="/api/v1", description="Teams and grids")

_ID = fields.String(validate=validate.Length(min=1, max=64))


class NewUnit(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))


class TeamChange(Schema):
    public = fields.Boolean(
        required=True,
        truthy={True},
        falsy={False},
        metadata={"description": "whether the team's figures (no names) are on the public site"},
    )


class PeopleChange(Schema):
    account_ids = fields.List(_ID, required=True, validate=validate.Length(max=50))


class TeamOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    leader_ids = fields.List(fields.String(), required=True)
    public = fields.Boolean(required=True)
    activity_ids = fields.List(fields.String(), required=True)


class GridOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    head_ids = fields.List(fields.String(), required=True)


class FiguresOut(Schema):
    members = fields.Integer(required=True)
    activities = fields.Integer(allow_none=True)
    beans_earned = fields.Integer(required=True)
    incidents_verified = fields.Integer(required=True)


class TeamItem(TeamOut, FiguresOut):
    pass


class GridItem(GridOut, FiguresOut):
    pass


class TeamList(Schema):
    items = fields.List(fields.Nested(TeamItem), required=True)


class GridList(Schema):
    items = fields.List(fields.Nested(GridItem), required=True)


class PublicTeam(Schema):
    name = fields.String(required=True)
    members = fields.Integer(required=True)
    activities = fields.Integer(required=True)
    beans_earned = fields.Integer(required=True)
    incidents_verified = fields.Integer(required=True)


class PublicTeamList(Schema):
    items = fields.List(fields.Nested(PublicTeam), required=True)


class GridIncident(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    category = fields.String(required=True)
    description = fields.String(required=True)
    location = fields.String(allow_none=True)
    urgent = fields.Boolean(required=True)
    at = fields.DateTime(required=True)


class GridIncidentList(Schema):
    items = fields.List(fields.Nested(GridIncident), required=True)


def _with_figures(views, figures) -> list[dict]:
    by_id = {f.id: f for f in figures}
    return [{**vars(v), **vars(by_id[v.id])} for v in views]


@blp.route("/teams")
class Teams(MethodView):
    @requires("coordinator")
    @blp.arguments(NewUnit)
    @blp.response(201, TeamOut)
    def post(self, body):
        """Create a team (409 invalid_state if the name is taken). Members whose record
        names it are its members."""
        return ledger_of().create_team(body["name"], actor())

    @requires("coordinator", "admin", "auditor")
    @blp.response(200, TeamList)
    def get(self):
        """Every team with its leaders and figures."""
        teams = ledger_of().list_teams()
        return {"items": _with_figures(teams, team_figures(ledger_of(), reading, teams))}


@blp.route("/teams/<team_id>")
class TeamDetail(MethodView):
    @requires("coordinator")
    @blp.arguments(TeamChange)
    @blp.response(200, TeamOut)
    def patch(self, body, team_id):
        """Show the team's figures on the public site, or stop."""
        return ledger_of().set_team_public(team_id, body["public"], actor())


@blp.route("/teams/<team_id>/leaders")
class TeamLeaders(MethodView):
    @requires("coordinator")
    @blp.arguments(PeopleChange)
    @blp.response(200, TeamOut)
    def put(self, body, team_id):
        """Make exactly these volunteers the team's leaders (each appointment and removal
        is an event in the log, by the caller)."""
        return ledger_of().set_leaders(team_id, body["account_ids"], actor())


@blp.route("/grids")
class Grids(MethodView):
    @requires("coordinator")
    @blp.arguments(NewUnit)
    @blp.response(201, GridOut)
    def post(self, body):
        """Create a grid (409 invalid_state if the name is taken)."""
        return ledger_of().create_grid(body["name"], actor())

    @requires("coordinator", "admin", "auditor")
    @blp.response(200, GridList)
    def get(self):
        """Every grid with its heads and figures."""
        grids = ledger_of().list_grids()
        return {"items": _with_figures(grids, grid_figures(ledger_of(), reading, grids))}


@blp.route("/grids/<grid_id>/heads")
class GridHeads(MethodView):
    @requires("coordinator")
    @blp.arguments(PeopleChange)
    @blp.response(200, GridOut)
    def put(self, body, grid_id):
        """Make exactly these volunteers' accounts the grid's heads."""
        return ledger_of().set_heads(grid_id, body["account_ids"], actor())


@blp.route("/grids/<grid_id>/incidents")
class GridIncidents(MethodView):
    @requires("coordinator", "auditor", "volunteer")
    @blp.response(200, GridIncidentList)
    def get(self, grid_id):
        """The grid's incidents, urgent first, newest first: for its heads (a volunteer
        who heads no grid of this id: 403), coordinators and auditors. Read-only."""
        grid = ledger_of().get_grid(grid_id)
        who = caller()
        if who.role == "volunteer":
            forbid_unless(who.account_id in grid.head_ids, "you do not head this grid")
        return {"items": grid_queue(reading, grid)}


@blp.route("/public/teams")
class PublicTeams(MethodView):
    @blp.response(200, PublicTeamList)
    def get(self):
        """The figures of the teams that chose to show them; no person is named."""
        teams = [t for t in ledger_of().list_teams() if t.public]
        return {"items": [vars(f) for f in team_figures(ledger_of(), reading, teams)]}
