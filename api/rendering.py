"""The monthly fund report and the merchant statement as CSV, HTML and PDF.

Pure functions of the JSON shapes of ``docs/REPORTS.md``: no Flask request context and no
database. The templates are read with a ``jinja2.Environment`` of its own (autoescaped),
so the functions also work outside an app. The PDF side lives in
:mod:`api.rendering_pdf` (imported on first use, so pages and CSV never load reportlab)
and the SVG charts in :mod:`api.charts`.

Every amount in fen stays an integer: :func:`yuan` formats with integer arithmetic only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from api.charts import bean_flow_svg, fund_history_svg
from api.report_sections import (
    DONATION_COLUMNS,
    MONTH_OPEN_NOTE,
    PAYOUT_COLUMNS,
    plain,
    report_sections,
    yuan,
)

#: Free-text fields a spreadsheet might read as a formula; see :func:`_csv_cell`.
_FREE_TEXT = frozenset({"donor", "merchant", "receipt_no", "payment_ref"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")










# --------------------------------------------------------------------------------------------
# The report's figures with their bilingual labels (shared by the page and the PDF)





DONATION_COLUMNS += [("金额", "Amount", True), ("收据号", "Receipt no.", False)]
PAYOUT_COLUMNS += [("返利", "Rebate", True), ("支付日期", "Paid on", False)]
PAYOUT_COLUMNS += [("付款凭证", "Payment ref.", False)]


















# --------------------------------------------------------------------------------------------
# CSV




def _csv_cell(field: str, value: Any) -> str:
    """A CSV value; free text that a spreadsheet would run as a formula gets a ``'`` first.

    Only names and references typed by people are guarded (a donor called ``=SUM(A1)``),
    never figures, so negative amounts stay as they are.
    """
    text = plain(value)
    if field in _FREE_TEXT and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf of a JSON value with its path; list items are numbered from 1."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, str(key)))
    elif isinstance(value, list):
        for number, inner in enumerate(value, start=1):
            yield from _leaves(inner, (*path, str(number)))
    else:
        yield path, value


def fund_report_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """``(section, item, field, value)`` for every figure of the report.

    Top-level scalars are in section ``report``; ``beans.issued.total`` is
    ``("beans", "issued", "total")``; the n-th donation's donor is
    ``("donations", "n", "donor")``.
    """
    rows = []
    for path, value in _leaves(report):
        if len(path) == 1:
            section, item = "report", ""
        else:
            section = path[0]
            item = ".".join(p for p in path[1:-1] if p != "items")
        rows.append((section, item, path[-1], _csv_cell(path[-1], value)))
    return rows


def _write_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """CSV text (``\\r\\n`` line ends, no BOM) of a header and rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def fund_report_csv(report: dict[str, Any]) -> str:
    """The fund report as CSV rows ``section,item,field,value`` (null is an empty value)."""
    return _write_csv(["section", "item", "field", "value"], list(fund_report_rows(report)))


def statement_csv(statement: dict[str, Any], merchant_name: str) -> str:
    """A merchant statement as CSV rows ``field,value``, the merchant's name first."""
    rows = [("merchant", _csv_cell("merchant", merchant_name))]
    rows += [(str(key), plain(value)) for key, value in statement.items()]
    return _write_csv(["field", "value"], rows)


# --------------------------------------------------------------------------------------------
# HTML


@lru_cache(maxsize=1)
def template_environment() -> Environment:
    """The Jinja environment of ``api/templates`` (autoescaped, strict about undefined)."""
    env = Environment(
        loader=PackageLoader("api", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    return env


def report_links(period: str) -> dict[str, str]:
    """The addresses of the same report as CSV, PDF and JSON."""
    return {
        "csv": f"/reports/{period}.csv",
        "pdf": f"/reports/{period}.pdf",
        "json": f"/api/v1/public/fund-reports/{period}",
    }


def fund_report_html(report: dict[str, Any], history: list[dict[str, Any]]) -> str:
    """The fund report as a complete HTML5 page with inline SVG charts."""
    template = template_environment().get_template("fund_report.html")
    return template.render(
        report=report,
        sections=report_sections(report),
        links=report_links(report["period"]),
        month_open_note=MONTH_OPEN_NOTE,
        flow_chart=Markup(bean_flow_svg(report)),
        history_chart=Markup(fund_history_svg(history, yuan)),
    )


# --------------------------------------------------------------------------------------------
# PDF (reportlab is imported only when a PDF is asked for)


def fund_report_pdf(report: dict[str, Any], history: list[dict[str, Any]]) -> bytes:
    """The fund report as an A4 PDF; see :func:`api.rendering_pdf.fund_report_pdf`."""
    from api import rendering_pdf

    return rendering_pdf.fund_report_pdf(report, history)


def statement_pdf(statement: dict[str, Any], merchant_name: str) -> bytes:
    """A merchant statement as a one-page PDF; see :func:`api.rendering_pdf.statement_pdf`."""
    from api import rendering_pdf

    return rendering_pdf.statement_pdf(statement, merchant_name)
