"""The fund officer's payment list (issue 16): for an approved settlement, a file to hand
to the bank, as CSV (UTF-8 with a byte-order mark) and XLSX.

One row per line of the settlement, in the settlement page's order (by merchant name):
the merchant, its payee, bank, branch and account number (api/payees.py, in full: only
fund officers download it), the amount to transfer in yuan (the line's cash plus its
rebate) and the reference to quote on the transfer. A line whose merchant has no bank
details, or that is already paid, says so in its last column, so nobody pays it blind or
twice; a second table sums the list up.

The account number is text in both files: in the XLSX the digits as they are, in the CSV
in groups of four, because Excel opens a CSV's long digit strings as numbers and rounds
them after the 15th digit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, flash
from flask_babel import gettext as _

from api.context import ledger_of, store_of
from api.files import download
from api.payees import Payee, payees_of
from api.spreadsheets import Cell, Sheet, sheets_csv, sheets_xlsx, yuan_amount
from api.web.payee_form import grouped
from api.web.support import back, day, page, when

bp = Blueprint("fund_payments", __name__)

OFFICER = "fund_officer"
LISTED = ("approved", "paid")  # a prepared list may still change; a cancelled one pays nothing
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class PaymentLine:
    merchant_id: str
    merchant: str
    payee: Payee | None
    due_fen: int
    reference: str
    paid_at: Any
    payment_ref: str | None


def payment_reference(period: str, settlement_id: str, merchant_number: str) -> str:
    """What the transfer quotes, for the shop to recognise it: ASCII, 24 characters,
    one per settlement line (``GB-2026-10-12345678-1a2b``)."""
    return f"GB-{period}-{merchant_number}-{settlement_id.replace('-', '')[:4]}"


def payment_lines(settlement: Any) -> list[PaymentLine]:
    """The settlement's lines with their merchants' names and bank details, by name."""
    ledger = ledger_of()
    details = payees_of(store_of(), [line.merchant_id for line in settlement.lines])
    lines = []
    for line in settlement.lines:
        merchant = ledger.get_merchant(line.merchant_id)
        lines.append(
            PaymentLine(
                merchant_id=merchant.id,
                merchant=merchant.name,
                payee=details.get(merchant.id),
                due_fen=line.cash_fen + line.rebate_fen,
                reference=payment_reference(settlement.period, settlement.id, merchant.number),
                paid_at=line.paid_at,
                payment_ref=line.payment_ref,
            )
        )
    lines.sort(key=lambda line: (line.merchant, line.merchant_id))
    return lines


def _note(line: PaymentLine) -> str:
    if line.paid_at is not None:
        return _(
            "Already paid on %(day)s (reference %(ref)s): do not pay again.",
            day=day(line.paid_at),
            ref=line.payment_ref,
        )
    if line.payee is None:
        return _("NO BANK DETAILS: the shop or the admin must enter them before it can be paid.")
    return ""


def payment_sheets(
    settlement: Any, lines: list[PaymentLine], account: Callable[[str], str]
) -> list[Sheet]:
    """The list and its summary as tables; ``account`` writes an account number."""
    rows: list[list[Cell]] = [
        [
            line.merchant,
            line.payee.payee_name if line.payee else "",
            line.payee.bank if line.payee else "",
            line.payee.branch if line.payee else "",
            account(line.payee.account_number) if line.payee else "",
            yuan_amount(line.due_fen),
            line.reference,
            _note(line),
            when(line.payee.updated_at) if line.payee else "",
        ]
        for line in lines
    ]
    payments = Sheet(
        _("Payments"),
        [
            _("Shop"),
            _("Payee"),
            _("Bank"),
            _("Branch"),
            _("Bank account number"),
            _("Amount (yuan)"),
            _("Reference to quote"),
            _("Note"),
            _("Bank details last changed"),
        ],
        rows,
    )
    unpaid = [line for line in lines if line.paid_at is None]
    summary = Sheet(
        _("Summary"),
        [
            _("Settlement"),
            _("For spending in"),
            _("Approved by"),
            _("Number of lines"),
            _("Total (yuan)"),
            _("Already paid (yuan)"),
            _("Still to pay (yuan)"),
            _("Lines without bank details"),
        ],
        [
            [
                settlement.id,
                settlement.period,
                settlement.approved_by or "",
                len(lines),
                yuan_amount(sum(line.due_fen for line in lines)),
                yuan_amount(sum(line.due_fen for line in lines if line.paid_at is not None)),
                yuan_amount(sum(line.due_fen for line in unpaid)),
                sum(1 for line in unpaid if line.payee is None),
            ]
        ],
    )
    return [payments, summary]


def _listed_settlement(settlement_id: str) -> Any:
    """The settlement, or None (with a flashed reason) when it has no payment list yet."""
    settlement = ledger_of().get_settlement(settlement_id)  # NotFound: the 404 page
    if settlement.status not in LISTED:
        flash(_("The payment list is ready once the settlement is approved."), "error")
        return None
    return settlement


def _file_name(settlement: Any, extension: str) -> str:
    return f"payments-{settlement.period}-{settlement.id[:8]}.{extension}"


@bp.get("/staff/settlements/<settlement_id>/payments.csv")
@page(OFFICER)
def payment_list_csv(settlement_id: str) -> Response:
    """The payment list as CSV: UTF-8 with a byte-order mark, the list's header row first."""
    settlement = _listed_settlement(settlement_id)
    if settlement is None:
        return back(f"/staff/settlements/{settlement_id}")
    sheets = payment_sheets(settlement, payment_lines(settlement), grouped)
    return download(sheets_csv(sheets), "text/csv; charset=utf-8", _file_name(settlement, "csv"))


@bp.get("/staff/settlements/<settlement_id>/payments.xlsx")
@page(OFFICER)
def payment_list_xlsx(settlement_id: str) -> Response:
    """The payment list as an XLSX workbook: the list, and its summary."""
    settlement = _listed_settlement(settlement_id)
    if settlement is None:
        return back(f"/staff/settlements/{settlement_id}")
    sheets = payment_sheets(settlement, payment_lines(settlement), str)
    return download(sheets_xlsx(sheets), XLSX, _file_name(settlement, "xlsx"))
