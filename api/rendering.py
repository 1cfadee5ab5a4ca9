"""The merchant statement as CSV, and the PDFs of the fund report and the statement.

Pure functions of the JSON shapes of ``docs/REPORTS.md``: no Flask request context and no
database. The PDF side lives in :mod:`api.rendering_pdf` (imported on first use, so CSV
answers never load reportlab). The report's page and its CSV and XLSX tables are the
people's pages' (api/web/reports.py, api/web/report_words.py), in the reader's language.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from api.report_sections import plain
from api.spreadsheets import BOM, safe_text


def _write_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """CSV text (``\\r\\n`` line ends) of a header and rows, with a byte-order mark so that
    Excel reads it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return BOM + buffer.getvalue()


def statement_csv(statement: dict[str, Any], merchant_name: str) -> str:
    """A merchant statement as CSV rows ``field,value``, the merchant's name first."""
    rows = [("merchant", str(safe_text(merchant_name)))]
    rows += [(str(key), plain(value)) for key, value in statement.items()]
    return _write_csv(["field", "value"], rows)


# --------------------------------------------------------------------------------------------
# PDF (reportlab is imported only when a PDF is asked for)


def fund_report_pdf(
    report: dict[str, Any], history: list[dict[str, Any]], zone: Any = None
) -> bytes:
    """The fund report as an A4 PDF; see :func:`api.rendering_pdf.fund_report_pdf`."""
    from api import rendering_pdf

    return rendering_pdf.fund_report_pdf(report, history, zone)


def statement_pdf(statement: dict[str, Any], merchant_name: str) -> bytes:
    """A merchant statement as a one-page PDF; see :func:`api.rendering_pdf.statement_pdf`."""
    from api import rendering_pdf

    return rendering_pdf.statement_pdf(statement, merchant_name)
