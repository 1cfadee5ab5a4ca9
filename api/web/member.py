"""The volunteer's and the beneficiary's own pages (SPEC §1, §10 ``/me``), mobile first.

- ``GET /me`` (volunteer, beneficiary): the balance, the messages (api/web/inbox.py) and
  the history of entries, 50 at a time (``?before=`` continues below an entry's version);
  for a volunteer also their service record (beans earned by kind, service hours, stars:
  api/recognition.py) and the public leaderboard choice, ``POST /me/leaderboard`` (field
  ``opt_in``), which also decides whether the honours list names them.
- ``GET /me/code`` (volunteer): a payment code to show at a till, as a QR code and as
  digits, and its 8-digit short code for a cashier to type (api/short_codes.py).
  ``me-code.js`` counts down and fetches a fresh one (``POST /me/code.json``) a few
  seconds before it expires (for five minutes after the person last did something, then
  the code is left to expire, saying so) and whenever the tab comes back; it follows the
  code (``POST /me/code/status.json``, field ``code``, every two seconds) and turns into a
  receipt ("Paid 15 beans at …") once a till redeemed it. Without scripts,
  ``POST /me/code`` ("New code") shows a fresh one.

Scanning, paying a shop and checking in are in :mod:`api.web.member_spend`; reporting an
incident and giving beans in :mod:`api.web.member_help`.

What a member sees of other people is what the API lets them see: shops by name (the
public partner list), never the name of another volunteer or beneficiary.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from api.context import ledger_of, reading, store_of
from api.recognition import lifetime
from api.short_codes import format_short_code, issue_short_code
from api.web.inbox import inbox_view
from api.web.support import back, beans, page, when, who
from ledger.accounts import Flow
from ledger.codes import format_for_display
from ledger.ids import POOL_ID
from merchant_pos.qr import qr_svg
from projections import queries

bp = Blueprint("member", __name__)

log = logging.getLogger(__name__)

HISTORY_PAGE = 50
CURSOR = re.compile(r"^[1-9][0-9]{0,17}$")
TRUE_VALUES = frozenset({"1", "on", "true", "yes"})


def my_account_id() -> str:
    """The signed-in member's bean account (403 for a user without one)."""
    account_id = who().account_id
    if not account_id:
        abort(403)
    return account_id


# --- the balance and the history -------------------------------------------------------------


@bp.get("/me")
@page("volunteer", "beneficiary")
def me() -> Any:
    """The member's balance and entries, newest first, 50 at a time."""
    person = who()
    before = request.args.get("before", "")
    cursor = int(before) if CURSOR.match(before) else None
    account = ledger_of().get_account(my_account_id())  # NotFound unless it is an account
    with reading() as conn:
        row = queries.account(conn, account.id)
        items, more = queries.entries(conn, account.id, HISTORY_PAGE, cursor)
        others = queries.account_kinds_and_names(conn, [e["counterparty"] for e in items])
        awards = [e["ref"] for e in items if e["flow"] == Flow.AWARD]
        subjects = queries.subject_kinds(conn, awards)
        roles = queries.incident_roles(conn, account.id, awards)
    balance = row["balance"] if row else account.balance
    opt_in = row["leaderboard_opt_in"] if row else account.leaderboard_opt_in
    gifts = [e["ref"] for e in items if e["flow"] == Flow.GIFT and e["amount"] > 0]
    messages = ledger_of().gift_messages(gifts) if gifts else {}
    kinds = award_kinds(items, subjects, roles)
    history = [describe(entry, others, kinds, messages) for entry in items]
    return render_template(
        "web_me.html",
        who=person,
        name=account.display_name,
        balance=balance,
        history=history,
        older=more,
        paged=cursor is not None,
        opt_in=opt_in,
        leads_team=bool(ledger_of().teams_led_by(account.id)),
        heads_grid=bool(ledger_of().grids_headed_by(account.id)),
        inbox=inbox_view(account.id),
        inbox_home="/me",
        recognition=lifetime(account.id) if person.role == "volunteer" else None,
    )


def award_kinds(
    items: list[dict[str, Any]], subjects: dict[str, str], roles: dict[str, tuple[bool, bool]]
) -> dict[int, str]:
    """What each award entry (by its version) was for: ``report``, ``handling`` (of an
    incident), ``incident`` (either, when the page cannot tell), ``activity`` or ``other``.

    An incident awards its reporter when verified and its handlers when resolved; a
    person who both reported and handled it has two entries, the earlier the report's."""
    kinds: dict[int, str] = {}
    awards = sorted((e for e in items if e["flow"] == Flow.AWARD), key=lambda e: e["version"])
    seen: dict[str, int] = {}
    for entry in awards:
        ref = entry["ref"]
        if subjects.get(ref) == "activity":
            kinds[entry["version"]] = "activity"
            continue
        if subjects.get(ref) != "incident":
            kinds[entry["version"]] = "other"
            continue
        reported, handled = roles.get(ref, (False, False))
        both = sum(1 for e in awards if e["ref"] == ref) == 2
        if reported and handled:
            kind = ("report" if ref not in seen else "handling") if both else "incident"
        else:
            kind = "report" if reported else "handling" if handled else "incident"
        seen[ref] = entry["version"]
        kinds[entry["version"]] = kind
    return kinds


AWARD_NAMES = {
    "report": _l("Award for a verified report"),
    "handling": _l("Award for helping to handle an incident"),
    "incident": _l("Award for an incident"),
    "activity": _l("Award for an activity"),
    "other": _l("Award"),
}


def describe(
    entry: dict[str, Any],
    others: dict[str, dict[str, Any]],
    kinds: dict[int, str],
    messages: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One history line: when, what happened (in words), the signed beans, and a gift's
    message to its receiver."""
    flow, amount, other = entry["flow"], entry["amount"], others.get(entry["counterparty"], {})
    shop = other.get("display_name") if other.get("kind") == "merchant" else None
    shop = shop or _("a shop")
    message = None
    if flow == Flow.AWARD:
        what = str(AWARD_NAMES[kinds.get(entry["version"], "other")])
    elif flow == Flow.ALLOTMENT:
        what = _("Monthly allotment")
    elif flow == Flow.GIFT and amount < 0:
        to_pool = other.get("kind") == "pool" or entry["counterparty"] == str(POOL_ID)
        what = _("Gift to the gift pool") if to_pool else _("Gift to a beneficiary")
    elif flow == Flow.GIFT:
        what = _("Gift from a volunteer")
        message = (messages or {}).get(entry["ref"])
    elif flow == Flow.POOL_ALLOCATION:
        what = _("From the gift pool")
    elif flow == Flow.REDEMPTION:
        what = _("Paid at %(shop)s", shop=shop)
    elif flow == Flow.REFUND:
        what = _("Refund from %(shop)s", shop=shop)
    elif flow == Flow.CORRECTION:
        what = _("Correction by the community office")
    else:  # a flow this page does not know yet
        log.warning("history entry of an unknown flow %r", flow)
        what = flow
    return {
        "at": entry["at"],
        "short": when(entry["at"]),
        "what": what,
        "amount": amount,
        "message": message,
    }


@bp.post("/me/leaderboard")
@page("volunteer")
def leaderboard_choice() -> Any:
    """Show or hide the volunteer's name on the public leaderboard."""
    opt_in = request.form.get("opt_in", "").strip().lower() in TRUE_VALUES
    ledger_of().set_leaderboard_opt_in(my_account_id(), opt_in)
    if opt_in:
        flash(_("Your name will appear on the public leaderboard."), "ok")
    else:
        flash(_("Your name will not appear on the public leaderboard."), "ok")
    return back("/me")


# --- the payment code --------------------------------------------------------------------------


def fresh_code() -> dict[str, Any]:
    """A new payment code of the signed-in volunteer and its short code, as the page and
    its script use them."""
    ledger = ledger_of()
    account_id = my_account_id()
    issued = ledger.issue_payment_code(account_id)
    now = ledger.now()
    short = issue_short_code(
        store_of(), ledger.digest, account_id, issued.code, issued.expires_at, now
    )
    expires_in = max(0, int((issued.expires_at - now).total_seconds()))
    return {
        "code": issued.code,
        "display": format_for_display(issued.code),
        "short": format_short_code(short),
        "qr_svg": qr_svg(issued.code),
        "expires_at": issued.expires_at,
        "expires_in": expires_in,
    }


@bp.get("/me/code")
@page("volunteer")
def payment_code() -> Any:
    """The volunteer's payment code: shown at a till, valid for a minute, used once."""
    return render_template("web_me_code.html", paycode=fresh_code())


@bp.post("/me/code")
@page("volunteer")
def new_payment_code() -> Any:
    """The "New code" button without scripts: the page again, with a fresh code."""
    return back("/me/code")


@bp.post("/me/code.json")
@page("volunteer")
def payment_code_json() -> Any:
    """A fresh code for the page's script (sent with the X-CSRFToken header)."""
    paycode = fresh_code()
    expires_at: datetime = paycode["expires_at"]
    return jsonify(
        {
            **paycode,
            "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
            "csrf_token": generate_csrf(),
        }
    )


@bp.post("/me/code/status.json")
@page("volunteer")
def payment_code_status() -> Any:
    """What became of the page's code (field ``code``, sent with the X-CSRFToken header):
    ``{"state": "live" | "used" | "expired" | "unknown"}``, and once used the receipt in
    words and its page. Only the volunteer's own codes are answered for."""
    code = str(request.form.get("code", ""))[:64]
    ledger = ledger_of()
    found = ledger.payment_code_state(my_account_id(), code)
    answer: dict[str, Any] = {"state": found.state}
    if found.redemption is not None:
        shop = ledger.get_merchant(found.redemption.merchant_id)
        answer["receipt"] = {
            "text": _(
                "Paid %(beans)s beans at %(shop)s",
                beans=beans(found.redemption.amount),
                shop=shop.name,
            ),
            "time": when(found.redemption.at),
            "url": f"/me/paid/{found.redemption.id}",
        }
    return jsonify(answer)


# The other member pages register their routes on ``web`` too.
