"""The admin's page for a merchant's payee bank details (issue 16): where the fund pays
the shop's settlements. The admin enters or changes them here (``PUT
/api/v1/merchants/{id}/payee``'s rule); the merchant's page shows them to every staff
role, in full to fund officers and the admin only (api/web/payee_form.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, render_template
from flask_babel import gettext as _

from api.context import ledger_of
from api.web import payee_form
from api.web.support import back, page

bp = Blueprint("admin_payee", __name__)

ADMIN = "admin"


@bp.get("/staff/merchants/<merchant_id>/payee")
@page(ADMIN)
def admin_payee(merchant_id: str) -> str:
    """The merchant's bank details and the form to change them."""
    merchant = ledger_of().get_merchant(merchant_id)  # NotFound: the 404 page
    shown = payee_form.context(merchant.id)
    return render_template(
        "web_admin_payee.html",
        merchant=merchant,
        form=payee_form.empty_form(shown["payee"]),
        errors={},
        **shown,
    )


@bp.post("/staff/merchants/<merchant_id>/payee")
@page(ADMIN)
def admin_save_payee(merchant_id: str) -> Any:
    """Save the merchant's bank details; the form again with what is wrong, if anything."""
    merchant = ledger_of().get_merchant(merchant_id)
    saved, form, errors = payee_form.save_from_form(merchant.id)
    if saved is None:
        flash(_("The bank details were not saved. Check the marked fields."), "error")
        html = render_template(
            "web_admin_payee.html",
            merchant=merchant,
            form=form,
            errors=errors,
            **payee_form.context(merchant.id),
        )
        return html, 422
    flash(_("Bank details of %(name)s saved.", name=merchant.name), "ok")
    return back(f"/staff/merchants/{merchant.id}/payee")
