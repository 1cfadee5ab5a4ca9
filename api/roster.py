"""The roster: finding members by name, phone or number (``GET /api/v1/accounts``, the
members page), importing a spreadsheet of members (``goldbean people import``, the import
page) and exporting the roster. Bottom floor: it takes the ledger and a way to read the
read tables, so the pages, the API and the command-line tool share it.

An import is planned first (:func:`plan_import`): every row is checked and reported by its
line, and matched with a member already registered, by phone, or else by name + building
(with no phone, or the same). Each row then creates an account, updates a record (an empty
cell keeps what is known), or changes nothing; importing the same file again changes
nothing. :func:`apply_import` carries a plan out: accounts are opened in batches
(``Ledger.open_members``), never with beans, and no card is issued.

An account opened by an import has its id derived from the row's phone (or name and
building): a person whose data was erased is not opened again from an old file.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Connection

from api.names import BadName, clean_name
from api.roster_files import HEADERS, KIND_HEADINGS, KIND_WORDS, RawRow, read_roster, roster_xlsx
from ledger.application import Ledger
from ledger.commands_people import NewMember
from ledger.people import MAX_LABEL, MAX_NAME, MAX_NOTE, MAX_TEAMS, MemberRecord, check_record
from projections import queries

Reader = Callable[[], AbstractContextManager[Connection]]

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
PEOPLE = ("volunteer", "beneficiary")
EVERYONE = 10**7  # no community has more members than this

MESSAGES = {
    "name_missing": _l("Enter the name."),
    "name_long": _l("A name has at most %(num)d characters."),
    "invisible": _l(
        "This may not contain control characters or invisible characters "
        "(zero-width characters or text-direction marks)."
    ),
    "kind": _l("Write 志愿者 or 受助居民."),
    "phone": _l("Not a phone number: 11 digits for a mobile, or a landline with its area code."),
    "too_long": _l("At most %(num)d characters."),
    "too_many_teams": _l("At most %(num)d teams."),
    "no_key": _l(
        "Give a phone or a building, so that this person is recognised "
        "when the roster is imported again."
    ),
    "same_phone": _l("The same phone as line %(line)d."),
    "same_person": _l("The same name and building as line %(line)d."),
    "same_member": _l("The same member as line %(line)d."),
    "phone_name": _l("This phone is registered to %(name)s."),
    "kind_differs": _l("This person is registered as a %(kind)s."),
    "ambiguous": _l("Several members have this name and building: give the phone."),
    "erased": _l(
        "This person's personal data was erased at their request: "
        "it is not imported again (register them by hand if they ask)."
    ),
}
KIND_NAMES = {"volunteer": _l("volunteer"), "beneficiary": _l("beneficiary")}
FILE_MESSAGES = {
    "unreadable": _l("This file cannot be read: upload an XLSX workbook or a CSV file."),
    "empty": _l("This file holds no rows."),
    "headers": _l("The column %(column)s is missing: start from the template."),
    "too_many": _l("A file may hold at most 10,000 rows."),
}


@dataclass(frozen=True)
class Problem:
    """What is wrong with a row: the column (a field of HEADERS, None for the whole row),
    a word of MESSAGES and the values its text names."""

    column: str | None
    word: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self) -> str:
        """The problem in the reader's language (English outside a request)."""
        values = dict(self.values)
        if "kind" in values:
            values["kind"] = str(KIND_NAMES.get(values["kind"], values["kind"]))
        return str(MESSAGES[self.word]) % values if values else str(MESSAGES[self.word])

    def heading(self) -> str:
        return HEADERS[self.column] if self.column else ""


@dataclass
class PlannedRow:
    line: int
    display_name: str
    kind: str | None
    record: MemberRecord
    action: str = CREATE
    account_id: str | None = None
    key: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def refuse(self, column: str | None, word: str, **values: Any) -> None:
        self.problems.append(Problem(column, word, tuple(values.items())))
        self.action = ERROR


@dataclass
class Plan:
    rows: list[PlannedRow]
    read_as: str  # xlsx, utf-8, utf-8-sig or gbk

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(row.action for row in self.rows)
        return {a: found.get(a, 0) for a in (CREATE, UPDATE, UNCHANGED, ERROR)}

    @property
    def errors(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.action == ERROR]


@dataclass(frozen=True)
class Outcome:
    created: int
    updated: int
    unchanged: int
    skipped: int  # rows with errors, left out


# --- the members as they are --------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: str
    kind: str
    display_name: str
    number: str
    balance: int
    record: MemberRecord


def directory(ledger: Ledger, read: Reader, kind: str | None = None) -> list[Member]:
    """Every volunteer and beneficiary (of one ``kind``), by name, with number and record;
    a person whose data was erased is listed without them."""
    with read() as conn:
        rows = queries.members(conn, kind, None, EVERYONE)
    entries = ledger.get_member_entries(r["id"] for r in rows)
    empty = MemberRecord()
    found = []
    for row in rows:
        entry = entries.get(row["id"])
        found.append(
            Member(
                id=row["id"],
                kind=row["kind"],
                display_name=row["display_name"],
                number=entry.number if entry else "",
                balance=row["balance"],
                record=entry.record if entry else empty,
            )
        )
    return found


def _digits(text: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text))


def search(
    members: Iterable[Member],
    q: str | None = None,
    team: str | None = None,
    grid: str | None = None,
    *,
    by_phone: bool = True,
) -> list[Member]:
    """The members ``q`` names: part of a name (any case), or three or more digits of the
    phone (``by_phone``) or the account number, or the whole account id; of ``team`` and
    in ``grid`` (whole labels) when given."""
    wanted = (q or "").strip().lower()
    digits = _digits(wanted)
    numeric = len(digits) >= 3 and digits.isdigit()
    team, grid = (team or "").strip(), (grid or "").strip()
    found = []
    for member in members:
        if team and team not in member.record.teams:
            continue
        if grid and grid != member.record.grid:
            continue
        if wanted and not (
            wanted in member.display_name.lower()
            or wanted == member.id
            or (numeric and digits in member.number)
            or (numeric and by_phone and digits in member.record.phone)
        ):
            continue
        found.append(member)
    return found


def labels(members: Iterable[Member]) -> tuple[list[str], list[str]]:
    """The teams and the grids members name, sorted (for a filter's choices)."""
    teams: set[str] = set()
    grids: set[str] = set()
    for member in members:
        teams.update(member.record.teams)
        if member.record.grid:
            grids.add(member.record.grid)
    return sorted(teams), sorted(grids)


# --- importing ---------------------------------------------------------------------------


def import_key(row: PlannedRow) -> str:
    """The key an imported row's account id is derived from."""
    if row.record.phone:
        return f"roster/{row.record.phone}"
    return f"roster/{row.display_name}/{row.record.building}"


def check_row(raw: RawRow) -> PlannedRow:
    """One row's values, cleaned, and what is wrong with them on their own."""
    cells = raw.cells
    record, problems = check_record(cells)
    name_text = cells.get("display_name", "")
    kind_text = "".join(cells.get("kind", "").split()).lower()
    row = PlannedRow(raw.line, name_text, KIND_WORDS.get(kind_text), record)
    try:
        row.display_name = clean_name(name_text)
    except BadName:
        row.refuse("display_name", "invisible")
    else:
        if not row.display_name:
            row.refuse("display_name", "name_missing")
        elif len(row.display_name) > MAX_NAME:
            row.refuse("display_name", "name_long", num=MAX_NAME)
    if row.kind is None:
        row.refuse("kind", "kind")
    limits = {"building": MAX_LABEL, "grid": MAX_LABEL, "teams": MAX_LABEL}
    limits |= {"guardian": MAX_NAME, "note": MAX_NOTE}
    for column, word in problems.items():
        if word == "too_long":
            row.refuse(column, "too_long", num=limits[column])
        elif word == "too_many_teams":
            row.refuse(column, "too_many_teams", num=MAX_TEAMS)
        elif word == "control":
            row.refuse(column, "invisible")
        else:
            row.refuse(column, "phone")
    if not record.phone and not record.building and "phone" not in problems:
        row.refuse(None, "no_key")
    return row


def plan_import(data: bytes, ledger: Ledger, read: Reader) -> Plan:
    """What importing the file ``data`` would do, row by row. Changes nothing.
    Raises RosterFileError for a file that cannot be read as a roster."""
    raw_rows, read_as = read_roster(data)
    rows = [check_row(raw) for raw in raw_rows]
    members = [m for m in directory(ledger, read) if m.number]  # erased ones have none
    by_phone = {m.record.phone: m for m in members if m.record.phone}
    by_name: dict[tuple[str, str], list[Member]] = {}
    for m in members:
        by_name.setdefault((m.display_name, m.record.building), []).append(m)
    seen_phone: dict[str, int] = {}
    seen_person: dict[tuple[str, str], int] = {}
    seen_member: dict[str, int] = {}
    for row in rows:
        if row.action == ERROR:
            continue
        phone, person = row.record.phone, (row.display_name, row.record.building)
        if phone and phone in seen_phone:
            row.refuse("phone", "same_phone", line=seen_phone[phone])
            continue
        if not phone and person in seen_person:
            row.refuse("display_name", "same_person", line=seen_person[person])
            continue
        if phone:
            seen_phone[phone] = row.line
        else:
            seen_person[person] = row.line
        match = _match(row, by_phone, by_name)
        if row.action == ERROR:
            continue
        if match is None:
            row.key = import_key(row)
            continue
        if match.id in seen_member:
            row.refuse(None, "same_member", line=seen_member[match.id])
            continue
        seen_member[match.id] = row.line
        row.account_id = match.id
        merged = row.record.merged_into(match.record)
        row.record = merged
        row.action = UNCHANGED if merged == match.record else UPDATE
    erased = ledger.erased_keys(row.key for row in rows if row.action == CREATE and row.key)
    for row in rows:
        if row.action == CREATE and row.key in erased:
            row.refuse(None, "erased")
    return Plan(rows, read_as)


def _match(
    row: PlannedRow, by_phone: dict[str, Member], by_name: dict[tuple[str, str], list[Member]]
) -> Member | None:
    """The member a row names (None: a new one); refuses the row on a contradiction."""
    phone = row.record.phone
    if phone and phone in by_phone:
        found = by_phone[phone]
        if found.display_name != row.display_name:
            row.refuse("phone", "phone_name", name=found.display_name)
            return None
    else:
        if not row.record.building:
            return None
        candidates = [
            m
            for m in by_name.get((row.display_name, row.record.building), [])
            if not m.record.phone or not phone
        ]
        if len(candidates) > 1:
            row.refuse("display_name", "ambiguous")
            return None
        if not candidates:
            return None
        found = candidates[0]
    if found.kind != row.kind:
        row.refuse("kind", "kind_differs", kind=found.kind)
        return None
    return found


def apply_import(plan: Plan, ledger: Ledger) -> Outcome:
    """Carry out ``plan``'s valid rows: open the new members' accounts (in batches, with
    their records) and write the changed records. Rows with errors are left out: the
    caller decides whether a file with errors is imported at all."""
    new = [
        NewMember(row.kind or "", row.display_name, row.record, row.key or import_key(row))
        for row in plan.rows
        if row.action == CREATE
    ]
    if new:
        ledger.open_members(new)
    changed = {
        row.account_id: row.record for row in plan.rows if row.action == UPDATE and row.account_id
    }
    if changed:
        ledger.set_member_records(changed)
    return Outcome(
        created=len(new),
        updated=len(changed),
        unchanged=plan.count(UNCHANGED),
        skipped=plan.count(ERROR),
    )


# --- exporting ----------------------------------------------------------------------------


def export_xlsx(members: Iterable[Member]) -> bytes:
    """The roster as a workbook in the template's columns (and the account number): it
    can be edited and imported again. Erased people are left out."""
    rows = [
        [
            m.display_name,
            KIND_HEADINGS[m.kind],
            m.record.phone,
            m.record.building,
            m.record.grid,
            "、".join(m.record.teams),
            m.record.guardian,
            m.record.guardian_phone,
            m.record.note,
            m.number,
        ]
        for m in members
        if m.number and m.kind in KIND_HEADINGS
    ]
    return roster_xlsx(rows)


def file_problem_text(reason: str, missing: str = "") -> str:
    """Why a file could not be read, in the reader's language."""
    message = FILE_MESSAGES.get(reason, FILE_MESSAGES["unreadable"])
    return str(message) % {"column": missing} if reason == "headers" else str(message)
