"""The quarterly honours list (季度评比) as pages: ``GET /honours`` (public: the names of
volunteers who chose to be named, the others as "a volunteer") and ``GET /staff/honours``
(coordinators, admins, auditors: every name, and whether it is shown in public). Both
take ``?quarter=YYYY-Qn`` (default: the current quarter) and say how the list and the
stars are counted (docs/LEDGER.md, "Recognition")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from api.recognition import honours
from api.web.support import page
from projections.recognition import STAR_HOURS

bp = Blueprint("honours", __name__)

STAFF_READERS = ("coordinator", "admin", "auditor")


def quarter_name(quarter: str) -> str:
    """``2026-Q2`` as the reader says it: 2026年第2季度, Q2 2026."""
    return _("Q%(number)s %(year)s", year=quarter[:4], number=quarter[-1])


def _page(public: bool) -> str:
    found = honours(request.args.get("quarter"), public=public)
    return render_template(
        "web_honours.html",
        honours=found,
        public=public,
        here="/honours" if public else "/staff/honours",
        quarter_name=quarter_name(found["quarter"]),
        quarters=[(q, quarter_name(q)) for q in found["quarters"]],
        star_hours=list(enumerate(STAR_HOURS, start=1)),
    )


@bp.get("/honours")
def public_honours() -> Any:
    return _page(public=True)


@bp.get("/staff/honours")
@page(*STAFF_READERS)
def staff_honours() -> Any:
    return _page(public=False)
