"""The programme's rules page (issue 18): the rules in force in words, the changes on the
record, and for administrators a form to propose a change, and buttons to approve another
administrator's proposal or withdraw one, each asked once more.

Who may do what is the JSON API's rule (api/endpoints/rules.py): every staff role reads
the page; only admins propose, approve and withdraw; the ledger refuses the proposer's own
approval (ledger/rulebook.py). The form shows every rule with its value in force; what
the admin changes is what is proposed. The bounds are the ledger's (ledger/rules.py
``BOUNDS``), so the page and the ledger cannot disagree.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, flash, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _

from api.amounts import parse_whole
from api.context import ledger_of
from api.web.common import CATEGORY_NAMES, INCIDENT_CATEGORY_NAMES, rebate_text
from api.web.rule_words import RULE_NAMES, change_lines, value_text
from api.web.support import (
    Refused,
    actor,
    attempt,
    back,
    claim_form,
    complete,
    confirmation,
    page,
    release,
    when,
    who,
)
from ledger.errors import ValidationError
from ledger.rules import (
    AWARD_BOUNDS,
    BOUNDS,
    CHANGEABLE,
    INCIDENT_CATEGORIES,
    MERCHANT_CATEGORIES,
    TEXT_LIMITS,
    Rules,
)

bp = Blueprint("admin_rules", __name__)

ADMIN = "admin"
STAFF = ("coordinator", "fund_officer", "auditor", "admin")
HERE = "/staff/rules"
WHOLE_RULES = tuple(n for n in CHANGEABLE if n in BOUNDS and n != "default_rebate_bps")


def _page(rules: Rules, status: int = 200, typed: dict[str, Any] | None = None) -> Any:
    ledger = ledger_of()
    changes = ledger.rule_changes()
    return (
        render_template(
            "web_admin_rules.html",
            rules=rules,
            rebate=rebate_text(rules.default_rebate_bps),
            rebate_percent=f"{Decimal(rules.default_rebate_bps) / 100:f}",
            incident_awards=[
                (c, INCIDENT_CATEGORY_NAMES.get(c, c), rules.incident_awards[c])
                for c in INCIDENT_CATEGORIES
            ],
            categories=[(c, CATEGORY_NAMES.get(c, c)) for c in MERCHANT_CATEGORIES],
            beneficiary_categories=value_text(
                "beneficiary_categories", rules.beneficiary_categories
            ),
            names=RULE_NAMES,
            whole_rules=WHOLE_RULES,
            bounds=BOUNDS,
            text_limits=TEXT_LIMITS,
            changes=[(c, change_lines(c.values)) for c in changes],
            pending=[c for c in changes if c.status == "pending"],
            is_admin=who().role == ADMIN,
            me=who().username,
            typed=typed or {},
            local_now=ledger.now()
            .astimezone(ledger.calendar.zone)
            .replace(tzinfo=None)
            .isoformat(timespec="minutes"),
        ),
        status,
    )


@bp.get(HERE)
@page(*STAFF)
def rules_page() -> Any:
    """The rules in force, in words, and the changes on the record."""
    return _page(ledger_of().rules)


def _typed_values() -> tuple[dict[str, Any], list[str]]:
    """The rules as the form gives them (plain values), and what is wrong with them."""
    form, errors = request.form, []
    values: dict[str, Any] = {}
    awards = {}
    low, high = AWARD_BOUNDS
    for category in INCIDENT_CATEGORIES:
        award = parse_whole(form.get(f"award_{category}", ""))
        if award is None or not low <= award <= high:
            errors.append(
                _(
                    "%(rule)s (%(category)s): enter a whole number from %(low)s to %(high)s.",
                    rule=RULE_NAMES["incident_awards"],
                    category=INCIDENT_CATEGORY_NAMES[category],
                    low=format_decimal(low),
                    high=format_decimal(high),
                )
            )
        awards[category] = award
    values["incident_awards"] = awards
    for name in WHOLE_RULES:
        low, high = BOUNDS[name]
        number = parse_whole(form.get(name, ""))
        if number is None or not low <= number <= high:
            errors.append(
                _(
                    "%(rule)s: enter a whole number from %(low)s to %(high)s.",
                    rule=RULE_NAMES[name],
                    low=format_decimal(low),
                    high=format_decimal(high),
                )
            )
        values[name] = number
    low, high = BOUNDS["default_rebate_bps"]
    try:
        percent = Decimal(form.get("default_rebate_percent", "").strip().rstrip("%％"))
        bps = percent * 100
        if bps != bps.to_integral_value() or not low <= bps <= high:
            raise InvalidOperation
        values["default_rebate_bps"] = int(bps)
    except (InvalidOperation, ValueError):
        errors.append(
            _(
                "%(rule)s: enter a percentage from %(low)s to %(high)s, with at most two decimals.",
                rule=RULE_NAMES["default_rebate_bps"],
                low=rebate_text(low),
                high=rebate_text(high),
            )
        )
    chosen = [c for c in MERCHANT_CATEGORIES if c in request.form.getlist("beneficiary_categories")]
    if not chosen:
        errors.append(_("Choose at least one kind of shop where bean cards may be used."))
    values["beneficiary_categories"] = chosen
    for name, limit in TEXT_LIMITS.items():
        text = " ".join(form.get(name, "").split())
        if len(text) > limit:
            errors.append(
                _("%(rule)s: at most %(num)s characters.", rule=RULE_NAMES[name], num=limit)
            )
        values[name] = text or None
    return values, errors


def _effective_at() -> tuple[datetime | None, str | None]:
    """The time the form asks for (a local date and time), or None for "when approved";
    and what is wrong with it."""
    ledger = ledger_of()
    if request.form.get("when") != "at":
        return None, None
    raw = request.form.get("effective_at", "").strip()
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        return None, _("Enter the date and time the change takes effect.")
    if local.tzinfo is not None:
        return None, _("Enter the date and time the change takes effect.")
    at = local.replace(tzinfo=ledger.calendar.zone)
    if at < ledger.now():
        return None, _("A change cannot take effect in the past.")
    return at, None


@bp.post(f"{HERE}/changes")
@page(ADMIN)
def propose_change() -> Any:
    """Propose the rules as the form gives them, from the time it names; another admin
    approves (asked once more)."""
    ledger = ledger_of()
    current = ledger.rules
    values, errors = _typed_values()
    effective_at, when_error = _effective_at()
    if when_error:
        errors.append(when_error)
    if errors:
        for error in errors:
            flash(error, "error")
        return _page(current, 422, typed=request.form)
    record = current.record()
    changed = {name: value for name, value in values.items() if value != record[name]}
    if not changed:
        flash(_("Nothing was changed: every rule is as it is now."), "error")
        return _page(current, 422, typed=request.form)
    try:
        (current if effective_at is None else ledger.rules_at(effective_at)).changed(changed)
    except ValidationError:
        flash(
            _(
                "These rules do not fit together: no award may be more than the largest "
                "award, and the monthly allotment not more than the most one allotment may "
                "grant."
            ),
            "error",
        )
        return _page(current, 422, typed=request.form)
    lines = "; ".join(f"{name}: {value}" for name, value in change_lines(changed))
    starting = (
        _("from %(when)s", when=when(effective_at))
        if effective_at
        else _("as soon as it is approved")
    )
    asking = confirmation(
        _("Propose this rule change?"),
        _(
            "%(lines)s. It takes effect %(when)s, once another administrator approves it; "
            "until then nothing changes.",
            lines=lines,
            when=starting,
        ),
        _("Yes, propose it"),
        HERE,
    )
    if asking is not None:
        return asking
    try:
        claim = claim_form("rule change")
    except Refused:
        return back(HERE)
    done = attempt(lambda: ledger.propose_rule_change(changed, actor(), effective_at=effective_at))
    if done is None:
        release(claim)
        return _page(current, 422, typed=request.form)
    complete(claim, done.id)
    flash(_("The change is proposed: another administrator must approve it."), "ok")
    return back(HERE)


def _waiting(change_id: str) -> Any:
    for change in ledger_of().rule_changes():
        if change.id == change_id:
            return change
    return None


@bp.post(f"{HERE}/changes/<change_id>/approve")
@page(ADMIN)
def approve_change(change_id: str) -> Any:
    """Approve another admin's proposal (asked once more)."""
    change = _waiting(change_id)
    if change is None:
        flash(_("That change is not on the record."), "error")
        return back(HERE)
    lines = "; ".join(f"{name}: {value}" for name, value in change_lines(change.values))
    asking = confirmation(
        _("Approve this rule change?"),
        _(
            "%(lines)s. From the time it takes effect every payment, award and allotment "
            "follows it, and it cannot be taken back: a later change is needed to undo it.",
            lines=lines,
        ),
        _("Yes, approve it"),
        HERE,
    )
    if asking is not None:
        return asking
    done = attempt(lambda: ledger_of().approve_rule_change(change_id, actor()))
    if done is not None:
        flash(_("The change is approved and takes effect at the time shown."), "ok")
    return back(HERE)


@bp.post(f"{HERE}/changes/<change_id>/withdraw")
@page(ADMIN)
def withdraw_change(change_id: str) -> Any:
    """Withdraw a change waiting for approval (asked once more)."""
    change = _waiting(change_id)
    if change is None:
        flash(_("That change is not on the record."), "error")
        return back(HERE)
    asking = confirmation(
        _("Withdraw this rule change?"),
        _("The proposal stays on the record as withdrawn, and can no longer be approved."),
        _("Yes, withdraw it"),
        HERE,
    )
    if asking is not None:
        return asking
    done = attempt(lambda: ledger_of().withdraw_rule_change(change_id, actor()))
    if done is not None:
        flash(_("The change is withdrawn."), "ok")
    return back(HERE)
