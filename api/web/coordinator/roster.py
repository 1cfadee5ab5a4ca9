"""The coordinator's roster pages: importing a spreadsheet of members (upload → preview
with each line's problems and what will be created, updated or left unchanged → import),
the template to fill in, and the roster as a workbook (api/roster.py does the work).

The preview carries the uploaded file back in the form (base64), so the import that
follows reads exactly what was previewed, on whichever worker answers, with nothing kept
on the server between the two steps; the file is checked again when it is imported.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _

from api import roster
from api.context import ledger_of, reading
from api.files import download
from api.roster_files import HEADERS, RosterFileError, template_xlsx
from api.web.common import ROLE_NAMES
from api.web.coordinator.shared import REGISTRARS
from api.web.support import attempt, back, page

bp = Blueprint("coord_roster", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the largest roster file taken (a few thousand rows are a few hundred KB)
MAX_FILE = 2 * 1024 * 1024
#: a request may carry the file and, on the import step, its base64 (4/3 of it)
UPLOAD_LIMIT = 3 * MAX_FILE


def _action_names() -> dict[str, str]:
    return {
        roster.CREATE: _("New member"),
        roster.UPDATE: _("Record updated"),
        roster.UNCHANGED: _("No change"),
        roster.ERROR: _("Not imported"),
    }


@bp.get("/staff/members/import")
@page(*REGISTRARS)
def import_form() -> Any:
    """Choose a roster file to check."""
    return render_template("web_coord_import.html", plan=None, headers=list(HEADERS.values()))


def _uploaded() -> tuple[bytes | None, str]:
    """The file of this step (the upload, or the previewed file carried back) and its
    name; None (and a flashed message) when there is none or it is too large."""
    name = request.form.get("filename", "")[:200]
    carried = request.form.get("data", "")
    if carried:
        try:
            data = base64.b64decode(carried, validate=True)
        except (binascii.Error, ValueError):
            data = b""
    else:
        upload = request.files.get("file")
        data = upload.read(MAX_FILE + 1) if upload else b""
        name = (upload.filename or "") if upload else ""
    if not data:
        flash(_("Choose a roster file (XLSX or CSV)."), "error")
        return None, name
    if len(data) > MAX_FILE:
        flash(_("A roster file may be at most 2 MB."), "error")
        return None, name
    return data, name


@bp.post("/staff/members/import")
@page(*REGISTRARS)
def import_roster() -> Any:
    """``step=preview``: check the uploaded file and show, line by line, what importing
    it would do. ``step=import``: import the previewed file; with rows refused, only when
    ``valid_rows_only`` is ticked."""
    data, name = _uploaded()
    if data is None:
        return back("/staff/members/import")
    ledger = ledger_of()
    try:
        plan = roster.plan_import(data, ledger, reading)
    except RosterFileError as refused:
        flash(roster.file_problem_text(refused.reason, refused.missing), "error")
        return back("/staff/members/import")
    if request.form.get("step") != "import":
        return _preview(plan, data, name)
    if plan.errors and request.form.get("valid_rows_only") != "yes":
        flash(
            _(
                "Nothing was imported: some lines have problems. Correct them in the file, "
                "or choose to import the other lines."
            ),
            "error",
        )
        return _preview(plan, data, name, status=422)
    done = attempt(lambda: roster.apply_import(plan, ledger))
    if done is None:
        return _preview(plan, data, name, status=409)
    if done.created or done.updated:
        flash(
            _(
                "Imported: %(created)d new members, %(updated)d records updated, "
                "%(unchanged)d unchanged.",
                created=done.created,
                updated=done.updated,
                unchanged=done.unchanged,
            ),
            "ok",
        )
    else:
        flash(_("Nothing changed: every member in the file is already registered."), "ok")
    if done.skipped:
        flash(_("%(num)d lines with problems were left out.", num=done.skipped), "error")
    return back("/staff/members")


import_roster.upload_limit = UPLOAD_LIMIT  # type: ignore[attr-defined]


def _preview(plan: roster.Plan, data: bytes, name: str, status: int = 200) -> Any:
    html = render_template(
        "web_coord_import.html",
        plan=plan,
        counts=plan.counts,
        filename=name,
        data=base64.b64encode(data).decode("ascii"),
        action_names=_action_names(),
        kind_names=ROLE_NAMES,
        headers=list(HEADERS.values()),
        read_as={"gbk": "GBK", "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "xlsx": "XLSX"}.get(
            plan.read_as, plan.read_as
        ),
    )
    return html, status


@bp.get("/staff/members/template.xlsx")
@page(*REGISTRARS)
def roster_template() -> Any:
    """The empty roster with its Chinese headers (and a sheet that explains them)."""
    return download(template_xlsx(), XLSX, "goldbean-roster-template.xlsx")


@bp.get("/staff/members/roster.xlsx")
@page(*REGISTRARS)
def roster_export() -> Any:
    """Every member with their record and account number, in the template's columns."""
    members = roster.directory(ledger_of(), reading)
    return download(roster.export_xlsx(members), XLSX, "goldbean-roster.xlsx")
