"""The coordinator's pages: teams and grids (issue 18). ``/staff/teams`` lists every team
and grid with its figures (members, activities, beans earned, incidents verified), who
leads or heads it, and (coordinator) forms to create one, name or remove a leader or head
by their member number, and show a team's figures on the public site or not.

A team's members are the members whose record names it (the member pages edit records).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _

from api.context import ledger_of, reading
from api.teams import grid_figures, team_figures
from api.web.coordinator.shared import COORDINATOR, READERS, is_coordinator, text
from api.web.support import actor, attempt, back, page
from ledger.errors import LedgerError, NotFound
from projections import queries

bp = Blueprint("coord_teams", __name__)

HERE = "/staff/teams"


@bp.get("/staff/teams")
@page(*READERS)
def teams() -> Any:
    ledger = ledger_of()
    all_teams, all_grids = ledger.list_teams(), ledger.list_grids()
    people = [p for t in all_teams for p in t.leader_ids] + [
        p for g in all_grids for p in g.head_ids
    ]
    with reading() as conn:
        names = queries.account_names(conn, people)
    return render_template(
        "web_coord_teams.html",
        teams=zip(all_teams, team_figures(ledger, reading, all_teams), strict=True),
        grids=zip(all_grids, grid_figures(ledger, reading, all_grids), strict=True),
        names=names,
        can_act=is_coordinator(),
    )


@bp.post("/staff/teams")
@page(COORDINATOR)
def create_team() -> Any:
    made = attempt(lambda: ledger_of().create_team(text("name"), actor()))
    if made is not None:
        flash(_("Team %(name)s created.", name=made.name), "ok")
    return back(HERE)


@bp.post("/staff/grids")
@page(COORDINATOR)
def create_grid() -> Any:
    made = attempt(lambda: ledger_of().create_grid(text("name"), actor()))
    if made is not None:
        flash(_("Grid %(name)s created.", name=made.name), "ok")
    return back(HERE)


def _person() -> str | None:
    """The account a form names: ``account_id`` (a remove button) or a member ``number``."""
    if request.form.get("account_id"):
        return request.form["account_id"]
    number = "".join(text("number").split())
    try:
        return ledger_of().account_id_for_number(number)
    except (NotFound, LedgerError):
        flash(_("No member has this number."), "error")
        return None


@bp.post("/staff/teams/<team_id>/leaders")
@page(COORDINATOR)
def change_leader(team_id: str) -> Any:
    ledger = ledger_of()
    return _name_or_remove(
        lambda person: ledger.appoint_leader(team_id, person, actor()),
        lambda person: ledger.remove_leader(team_id, person, actor()),
        _("Leader named."),
        _("Leader removed."),
    )


def _name_or_remove(
    name: Callable[[str], Any], remove: Callable[[str], Any], named: str, removed: str
) -> Any:
    """The person of the form's member number named (or, ``action=remove``, removed) as a
    team's leader or a grid's head."""
    person = _person()
    if person is None:
        return back(HERE)
    removing = request.form.get("action") == "remove"
    if attempt(lambda: (remove if removing else name)(person)) is not None:
        flash(removed if removing else named, "ok")
    return back(HERE)


@bp.post("/staff/teams/<team_id>/public")
@page(COORDINATOR)
def team_public(team_id: str) -> Any:
    public = request.form.get("public") == "1"
    done = attempt(lambda: ledger_of().set_team_public(team_id, public, actor()))
    if done is not None:
        flash(
            _("The team's figures are on the public site.")
            if public
            else _("The team's figures are no longer on the public site."),
            "ok",
        )
    return back(HERE)


@bp.post("/staff/grids/<grid_id>/heads")
@page(COORDINATOR)
def change_head(grid_id: str) -> Any:
    ledger = ledger_of()
    return _name_or_remove(
        lambda person: ledger.appoint_head(grid_id, person, actor()),
        lambda person: ledger.remove_head(grid_id, person, actor()),
        _("Grid head named."),
        _("Grid head removed."),
    )
