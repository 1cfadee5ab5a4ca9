"""A member's record beyond a name: phone, building (楼栋), grid (网格), teams, a guardian or
contact (for elders) and a note.

All of it is personal data: it lives in the personal-data store (ledger/personal.py) under
the member's account id, never in the event log, and goes with the person's erasure.

:func:`check_record` turns what a person typed (a form, a roster row) into a clean
:class:`MemberRecord`, or names each field's problem by a stable word (``PROBLEMS``) that
the pages and the command-line tool put in their own words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

#: the record's fields as the personal-data store names them (``teams`` is one text of
#: names joined by TEAM_JOIN)
RECORD_FIELDS = ("phone", "building", "grid", "teams", "guardian", "guardian_phone", "note")
TEAM_JOIN = "、"
#: what separates team names in typed text: 、 , ， ; ；
TEAM_SPLIT = re.compile(r"[、,，;；]")

MAX_LABEL = 40  # a building, a grid or a team's name
MAX_NAME = 120  # a guardian's name (as a member's display name)
MAX_NOTE = 500
MAX_TEAMS = 10

#: the stable words for a field's problem
TOO_LONG = "too_long"
CONTROL = "control"
PHONE = "phone"
TOO_MANY_TEAMS = "too_many_teams"
PROBLEMS = (TOO_LONG, CONTROL, PHONE, TOO_MANY_TEAMS)

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{8,10}")  # area code and number, digits only
#: format characters (zero-width, text direction) that hide what a text says
_INVISIBLE = {"Cf"}


@dataclass(frozen=True)
class MemberRecord:
    phone: str = ""
    building: str = ""
    grid: str = ""
    teams: tuple[str, ...] = field(default_factory=tuple)
    guardian: str = ""
    guardian_phone: str = ""
    note: str = ""

    def stored(self) -> dict[str, str | None]:
        """The values to put in the personal-data store (None removes an empty field)."""
        values = {
            "phone": self.phone,
            "building": self.building,
            "grid": self.grid,
            "teams": TEAM_JOIN.join(self.teams),
            "guardian": self.guardian,
            "guardian_phone": self.guardian_phone,
            "note": self.note,
        }
        return {name: value or None for name, value in values.items()}

    def merged_into(self, current: MemberRecord) -> MemberRecord:
        """This record's non-empty fields over ``current`` (what a roster row does: an
        empty cell keeps what is known)."""
        return MemberRecord(
            phone=self.phone or current.phone,
            building=self.building or current.building,
            grid=self.grid or current.grid,
            teams=self.teams or current.teams,
            guardian=self.guardian or current.guardian,
            guardian_phone=self.guardian_phone or current.guardian_phone,
            note=self.note or current.note,
        )


def record_from_store(values: Mapping[str, str]) -> MemberRecord:
    """The record kept in the personal-data store (missing fields are empty)."""
    teams = values.get("teams", "")
    return MemberRecord(
        phone=values.get("phone", ""),
        building=values.get("building", ""),
        grid=values.get("grid", ""),
        teams=tuple(t for t in teams.split(TEAM_JOIN) if t),
        guardian=values.get("guardian", ""),
        guardian_phone=values.get("guardian_phone", ""),
        note=values.get("note", ""),
    )


def normal_phone(text: str) -> str | None:
    """A phone number as stored (digits only; a mobile without +86), or None if ``text``
    is not a mainland mobile (11 digits, 1[3-9]…) or a landline with its area code."""
    digits = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", text))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    return None


def split_teams(text: str) -> list[str]:
    """Team names from typed text (separated by 、 or commas), trimmed, each once."""
    return list(dict.fromkeys(t.strip() for t in TEAM_SPLIT.split(text) if t.strip()))


def _label_problem(text: str, limit: int) -> str | None:
    if any(ord(c) < 32 and c not in "\n\t" for c in text) or any(
        unicodedata.category(c) in _INVISIBLE for c in text
    ):
        return CONTROL
    if len(text) > limit:
        return TOO_LONG
    return None


def check_record(values: Mapping[str, str]) -> tuple[MemberRecord, dict[str, str]]:
    """A clean record from typed ``values`` (missing fields are empty; ``teams`` is text
    with names separated by 、 or commas), and each field's problem (empty when none)."""
    problems: dict[str, str] = {}
    clean: dict[str, str] = {}
    limits = {"building": MAX_LABEL, "grid": MAX_LABEL, "guardian": MAX_NAME, "note": MAX_NOTE}
    for name, limit in limits.items():
        text = str(values.get(name) or "").strip()
        if name != "note":
            text = " ".join(text.split())
        problem = _label_problem(text, limit)
        if problem:
            problems[name] = problem
        clean[name] = text
    for name in ("phone", "guardian_phone"):
        text = str(values.get(name) or "").strip()
        phone = normal_phone(text) if text else ""
        if phone is None:
            problems[name] = PHONE
        clean[name] = phone or ""
    teams = split_teams(str(values.get("teams") or ""))
    for team in teams:
        problem = _label_problem(team, MAX_LABEL)
        if problem:
            problems["teams"] = problem
    if len(teams) > MAX_TEAMS:
        problems["teams"] = TOO_MANY_TEAMS
    record = MemberRecord(
        phone=clean["phone"],
        building=clean["building"],
        grid=clean["grid"],
        teams=tuple(teams),
        guardian=clean["guardian"],
        guardian_phone=clean["guardian_phone"],
        note=clean["note"],
    )
    return record, problems
