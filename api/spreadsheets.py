"""Tables as files people open: CSV that Excel on a Chinese Windows PC reads (UTF-8 with a
byte-order mark) and XLSX workbooks with one sheet per table (openpyxl). Bottom floor:
pure functions of :class:`Sheet` values, no request and no database.

Amounts are given as :class:`~decimal.Decimal` yuan (exact: ``fen / 100``), never floats;
the XLSX cell shows them with two decimals and thousands separators.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

BOM = "\ufeff"

Cell = str | int | Decimal | None

#: free text a spreadsheet would run as a formula starts with one of these
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Sheet(NamedTuple):
    """One table: its title (the sheet's name), column headers and rows."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Cell]]


def yuan_amount(fen: int) -> Decimal:
    """Fen as exact yuan for a spreadsheet cell: ``580000`` -> ``Decimal("5800.00")``."""
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def safe_text(value: Cell) -> Cell:
    """Text typed by people (a donor, a shop, a reference) that a spreadsheet would read
    as a formula gets a ``'`` first; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(safe_text(value))


def sheets_csv(sheets: Sequence[Sheet]) -> bytes:
    """The tables as one UTF-8 CSV with a byte-order mark: the first table's header row
    opens the file; each further table follows an empty line and a line with its title."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for number, sheet in enumerate(sheets):
        if number:
            writer.writerow([])
            writer.writerow([sheet.title])
        writer.writerow(sheet.headers)
        writer.writerows([_csv_text(cell) for cell in row] for row in sheet.rows)
    return (BOM + buffer.getvalue()).encode("utf-8")


def _sheet_name(title: str, taken: set[str]) -> str:
    """A valid, unique sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    name = "".join(" " if c in "[]:*?/\\" else c for c in title)[:31] or "Sheet"
    base, n = name, 2
    while name in taken:
        name = f"{base[:28]}({n})"
        n += 1
    taken.add(name)
    return name


def sheets_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """The tables as an XLSX workbook, one sheet each, headers in bold, amounts as numbers
    with two decimals, columns wide enough for their text."""
    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    for sheet in sheets:
        ws = book.create_sheet(_sheet_name(sheet.title, taken))
        ws.append(list(sheet.headers))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            ws.append([safe_text(cell) for cell in row])
        for column, header in enumerate(sheet.headers, start=1):
            cells = [row[column - 1] for row in sheet.rows if column - 1 < len(row)]
            for excel_row, value in enumerate(cells, start=2):
                if isinstance(value, Decimal):
                    ws.cell(excel_row, column).number_format = "#,##0.00"
            widest = max([_width(header), *(_width(_csv_text(v)) for v in cells)])
            ws.column_dimensions[get_column_letter(column)].width = min(60, widest + 2)
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _width(text: str) -> int:
    """Columns a text needs: a Chinese character is about two."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in str(text))
