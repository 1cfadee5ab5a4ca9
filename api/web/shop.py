"""A shop's own pages, for the ``merchant`` user (the owner, not the till): this month so
far, and each month's statement with every sale and refund (兑换明细), what was settled
and paid for it (amount, rebate, day and payment reference), and downloads (PDF, CSV,
XLSX); and where the fund pays the shop (its bank details, the account number masked).
The figures are those of ``GET /api/v1/merchants/{id}/statements/{period}``.

The messages to the shop (a settlement line paid) are on the same page (api/web/inbox.py).

A merchant user sees only its own shop: the pages take the shop from the session, never
from the address.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, render_template
from flask_babel import gettext as _

from api.context import ledger_of, reading
from api.files import download
from api.rendering import statement_pdf
from api.spreadsheets import sheets_csv, sheets_xlsx
from api.web import payee_form
from api.web.inbox import inbox_view
from api.web.report_words import month_name, statement_sheets
from api.web.support import back, page, who
from ledger.calendar import parse_period
from ledger.errors import ValidationError
from projections import queries

bp = Blueprint("shop", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _shop() -> Any:
    """The signed-in owner's shop (the ledger's merchant view)."""
    merchant_id = who().merchant_id
    if not merchant_id:
        abort(403)
    return ledger_of().get_merchant(merchant_id)


def _month(shop: Any, period: str) -> dict[str, Any]:
    """The statement of ``period`` with its sales and settlement lines; 404 for an address
    that is no month."""
    try:
        parse_period(period)
    except ValidationError:
        abort(404)
    ledger = ledger_of()
    with reading() as conn:
        statement = queries.statement(
            conn, shop.id, shop.rebate_bps, period, ledger.rules.bean_value_fen
        )
        sales = queries.month_redemptions(conn, shop.id, period)
        lines = queries.merchant_settlement_lines(conn, shop.id, period)
    return {"statement": statement, "sales": sales, "lines": lines}


@bp.get("/shop")
@page("merchant")
def shop_home() -> str:
    """This month so far, and the months with statements."""
    shop = _shop()
    ledger = ledger_of()
    current = ledger.calendar.period(ledger.now())
    with reading() as conn:
        periods = [p for p in queries.merchant_periods(conn, shop.id) if p != current]
    return render_template(
        "web_shop.html",
        shop=shop,
        current=current,
        month=month_name(current),
        this_month=_month(shop, current),
        periods=[(p, month_name(p)) for p in periods],
        inbox=inbox_view(shop.id),
        inbox_home="/shop",
        **payee_form.context(shop.id),
    )


@bp.get("/shop/statements/<period>")
@page("merchant")
def shop_statement(period: str) -> str:
    """One month's statement: figures, payments and every sale."""
    shop = _shop()
    month = _month(shop, period)
    return render_template(
        "web_shop_statement.html",
        shop=shop,
        period=period,
        month=month_name(period),
        **month,
    )


@bp.get("/shop/statements/<period>.csv")
@page("merchant")
def shop_statement_csv(period: str) -> Response:
    shop = _shop()
    month = _month(shop, period)
    body = sheets_csv(statement_sheets(shop.name, **month))
    return download(body, "text/csv; charset=utf-8", f"statement-{shop.number}-{period}.csv")


@bp.get("/shop/statements/<period>.xlsx")
@page("merchant")
def shop_statement_xlsx(period: str) -> Response:
    shop = _shop()
    month = _month(shop, period)
    body = sheets_xlsx(statement_sheets(shop.name, **month))
    return download(body, XLSX, f"statement-{shop.number}-{period}.xlsx")


@bp.get("/shop/statements/<period>.pdf")
@page("merchant")
def shop_statement_pdf(period: str) -> Response:
    shop = _shop()
    month = _month(shop, period)
    body = statement_pdf(month["statement"], shop.name)
    return download(body, "application/pdf", f"statement-{shop.number}-{period}.pdf")


@bp.get("/shop/payee")
@page("merchant")
def shop_payee() -> str:
    """Where the fund pays the shop: its bank details (the account number masked) and
    the form to change them."""
    shop = _shop()
    shown = payee_form.context(shop.id)
    return render_template(
        "web_shop_payee.html",
        shop=shop,
        form=payee_form.empty_form(shown["payee"]),
        errors={},
        **shown,
    )


@bp.post("/shop/payee")
@page("merchant")
def shop_save_payee() -> Any:
    """Save the shop's bank details; the form again with what is wrong, if anything."""
    shop = _shop()
    saved, form, errors = payee_form.save_from_form(shop.id)
    if saved is None:
        flash(_("The bank details were not saved. Check the marked fields."), "error")
        html = render_template(
            "web_shop_payee.html",
            shop=shop,
            form=form,
            errors=errors,
            **payee_form.context(shop.id),
        )
        return html, 422
    flash(_("Your bank details are saved."), "ok")
    return back("/shop/payee")
