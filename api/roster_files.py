"""Roster files: reading a spreadsheet of members (XLSX, or CSV in UTF-8 with or without a
byte-order mark, or GBK), and writing the template and the roster as XLSX. Bottom floor:
pure functions of bytes and rows, no request and no database.

The columns are named by Chinese headers (English ones are understood too):
姓名, 类型 (志愿者/受助居民), 手机, 楼栋, 网格, 队伍 (several names separated by 、 or a
comma), 监护人, 监护人电话, and 备注. A file's columns may come in any order; other
columns (账号 of an exported roster, for one) are left alone.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from api.spreadsheets import Sheet, sheets_xlsx

#: field -> the template's header
HEADERS = {
    "display_name": "姓名",
    "kind": "类型",
    "phone": "手机",
    "building": "楼栋",
    "grid": "网格",
    "teams": "队伍",
    "guardian": "监护人",
    "guardian_phone": "监护人电话",
    "note": "备注",
}
REQUIRED = ("display_name", "kind")
#: other spellings a header may have
ALIASES = {
    "name": "display_name",
    "kind": "kind",
    "type": "kind",
    "phone": "phone",
    "手机号": "phone",
    "手机号码": "phone",
    "电话": "phone",
    "building": "building",
    "楼号": "building",
    "grid": "grid",
    "team": "teams",
    "teams": "teams",
    "团队": "teams",
    "guardian": "guardian",
    "联系人": "guardian",
    "guardian_phone": "guardian_phone",
    "联系人电话": "guardian_phone",
    "note": "note",
}
#: what the 类型 column may say
KIND_WORDS = {
    "志愿者": "volunteer",
    "受助居民": "beneficiary",
    "受助人": "beneficiary",
    "volunteer": "volunteer",
    "beneficiary": "beneficiary",
}
KIND_HEADINGS = {"volunteer": "志愿者", "beneficiary": "受助居民"}
ACCOUNT_NUMBER = "账号"

MAX_ROWS = 10_000


class RosterFileError(ValueError):
    """Raised when a file cannot be read as a roster at all: ``reason`` is one of
    ``unreadable`` (not XLSX, not text in UTF-8 or GBK), ``empty``, ``headers`` (a
    required column is missing: ``missing`` names it) or ``too_many`` rows."""

    def __init__(self, reason: str, missing: str = "") -> None:
        super().__init__(reason if not missing else f"{reason}: {missing}")
        self.reason = reason
        self.missing = missing


@dataclass(frozen=True)
class RawRow:
    """One line of the file: its number as the person sees it (the header is line 1)
    and its cells by field (text, trimmed; missing columns absent)."""

    line: int
    cells: dict[str, str]


def read_roster(data: bytes) -> tuple[list[RawRow], str]:
    """The rows of a roster file and what it was read as (``xlsx``, ``utf-8``,
    ``utf-8-sig``, ``gbk``). Empty lines are skipped. Raises RosterFileError."""
    if data.startswith(b"PK\x03\x04"):
        return _columns(_xlsx_lines(data)), "xlsx"
    text, encoding = decode_text(data)
    return _columns(_csv_lines(text)), encoding


def decode_text(data: bytes) -> tuple[str, str]:
    """Text of a CSV file: UTF-8 after a byte-order mark; else UTF-8 if it decodes; else
    GBK (read as GB18030, its superset). RosterFileError ``unreadable`` otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    else:
        encodings = ["utf-8", "gbk", "gb18030"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break  # a binary file, or UTF-16
        return text, "gbk" if encoding == "gb18030" else encoding
    raise RosterFileError("unreadable")


def _csv_lines(text: str) -> list[tuple[int, list[str]]]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines = []
    try:
        for row in reader:
            lines.append((reader.line_num, row))
            if len(lines) > MAX_ROWS + 1:
                raise RosterFileError("too_many")
    except csv.Error:
        raise RosterFileError("unreadable") from None
    return lines


def _xlsx_lines(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise RosterFileError("unreadable") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise RosterFileError("empty")
        lines = []
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            lines.append((number, [_cell_text(v) for v in row]))
            if len(lines) > MAX_ROWS + 1:
                raise RosterFileError("too_many")
        return lines
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A cell as text: a phone typed as a number stays its digits (no ``.0``, no
    exponent)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header_field(text: str) -> str | None:
    word = "".join(text.replace("\ufeff", "").split())
    for field, header in HEADERS.items():
        if word == header:
            return field
    return ALIASES.get(word.lower())


def _columns(lines: list[tuple[int, list[str]]]) -> list[RawRow]:
    filled = [(n, cells) for n, cells in lines if any(c.strip() for c in cells)]
    if not filled:
        raise RosterFileError("empty")
    _header_line, header = filled[0]
    columns: dict[int, str] = {}
    for index, text in enumerate(header):
        field = _header_field(text)
        if field is not None and field not in columns.values():
            columns[index] = field
    for field in REQUIRED:
        if field not in columns.values():
            raise RosterFileError("headers", HEADERS[field])
    rows = filled[1:]
    if len(rows) > MAX_ROWS:
        raise RosterFileError("too_many")
    return [
        RawRow(
            line=n,
            cells={
                field: cells[index].strip() if index < len(cells) else ""
                for index, field in columns.items()
            },
        )
        for n, cells in rows
    ]


# --- writing ------------------------------------------------------------------------------


def roster_headers() -> list[str]:
    return list(HEADERS.values())


def template_xlsx() -> bytes:
    """The empty roster to fill in: the headers on the first sheet, and a sheet 说明 that
    says what goes in each column (so no example row is ever imported by mistake)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "名单"
    sheet.append(roster_headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDEFGHI", (12, 10, 16, 10, 12, 28, 12, 16, 30), strict=True):
        sheet.column_dimensions[column].width = width
        # phones stay text: Excel would show 13800138000 as 1.38E+10
        if column in "CH":
            for row in range(2, 1002):
                sheet[f"{column}{row}"].number_format = "@"
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("说明")
    for line in TEMPLATE_NOTES:
        notes.append(list(line))
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 70
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


TEMPLATE_NOTES: Sequence[tuple[str, str]] = (
    ("列", "填写说明"),
    ("姓名", "必填，最多 120 个字"),
    ("类型", "必填：志愿者 或 受助居民"),
    ("手机", "11 位手机号，或带区号的座机；同一手机号只登记一人"),
    ("楼栋", "如 3栋；没有手机号的人必须填楼栋（按 姓名+楼栋 认人）"),
    ("网格", "如 第一网格"),
    ("队伍", "可填多个，用 、 或 逗号 隔开，如 安全小红帽、巾帼志愿队"),
    ("监护人", "受助老人的监护人或联系人姓名"),
    ("监护人电话", "监护人或联系人的电话"),
    ("备注", "可不填"),
    ("", "同一份名单导入两次不会重复登记：按手机号认人，没有手机号的按 姓名+楼栋 认人。"),
    ("", "也可以存成 CSV（UTF-8 或 GBK 编码）再上传。"),
)


def roster_xlsx(rows: Sequence[Sequence[str]]) -> bytes:
    """The roster as a workbook: the template's columns and each member's account
    number, so the file can be edited and imported again."""
    return sheets_xlsx([Sheet("名单", [*roster_headers(), ACCOUNT_NUMBER], rows)])
