"""Personal data and secrets, kept beside the event log and never in it.

The event log is published: anyone may download it and check the fund against it. So
events carry ids, amounts, times and rules only. What names or unlocks a person lives
here, keyed by the subject's id (an account, a donation, an activity):

* ``display_name`` and ``number`` of a volunteer's or beneficiary's account;
* ``donor`` of a donation (a named donor's name is published in the report, from here;
  an anonymous donor's name is never shown);
* ``card_number`` and ``pin`` (a peppered, slow verifier) of a beneficiary's card;
* ``checkin_code`` of an activity;
* a member's record beyond the name (ledger/people.py): ``phone``, ``building``, ``grid``,
  ``teams``, ``guardian``, ``guardian_phone`` and ``note``.
* ``gift_message`` of a gift (a volunteer's own words to the receiver: free text may
  name people, so it stays out of the published log).

The log refers to secrets only by keyed digests (:meth:`PersonalData.digest`, an HMAC
under a key that is generated once per database and kept in ``gb_ledger_keys``), so a
card number or a check-in code can be looked up without being in the log, and cannot be
recovered from it.

:meth:`PersonalData.erase` deletes a subject's data (PIPL-style erasure on request); the
books still add up and verify, because no figure depends on it.

Three stores: :class:`MemoryPersonalData` for ``memory://``, and SQL stores on the event
recorder's own datastore for SQLite and PostgreSQL (the same database as the log, through
the same connections: nothing here imports a driver).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ledger.people import RECORD_FIELDS

#: what a subject's data may hold (anything else is a programming error)
FIELDS = frozenset(
    {
        "display_name",
        "number",
        "donor",
        "card_number",
        "pin",
        "checkin_code",
        "gift_message",
        *RECORD_FIELDS,
    }
)
KEY_NAME = "lookup"


class PersonalData(Protocol):
    def put(self, subject_id: str, values: Mapping[str, str | None]) -> None:
        """Set these fields of ``subject_id`` (None removes a field); others are kept."""

    def put_many(self, items: Mapping[str, Mapping[str, str | None]]) -> None:
        """:meth:`put` for several subjects at once (one transaction where there is one)."""

    def get(self, subject_id: str) -> dict[str, str]:
        """The subject's fields ({} when none, or erased)."""

    def get_many(self, subject_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """Fields of several subjects at once (subjects with none are left out)."""

    def erased(self, subject_id: str) -> bool:
        """True once the subject's data was erased."""

    def erased_among(self, subject_ids: Iterable[str]) -> set[str]:
        """Which of these subjects' data was erased."""

    def erase(self, subject_id: str) -> None:
        """Delete every field of the subject and remember that it was erased."""

    def lookup_key(self) -> bytes:
        """The key of the digests that stand for secrets in the log."""


def digest(key: bytes, kind: str, value: str) -> str:
    """A keyed digest of ``value`` (hex), for the log to refer to a secret by."""
    return hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()


def _check(values: Mapping[str, str | None]) -> None:
    unknown = set(values) - FIELDS
    if unknown:
        raise ValueError(f"not personal-data fields: {sorted(unknown)}")


class MemoryPersonalData:
    """In one process's memory (``memory://`` ledgers, unit tests)."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, str]] = {}
        self._erased: set[str] = set()
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    def put(self, subject_id: str, values: Mapping[str, str | None]) -> None:
        self.put_many({subject_id: values})

    def put_many(self, items: Mapping[str, Mapping[str, str | None]]) -> None:
        for values in items.values():
            _check(values)
        with self._lock:
            for subject_id, values in items.items():
                found = self._data.setdefault(subject_id, {})
                for name, value in values.items():
                    if value is None:
                        found.pop(name, None)
                    else:
                        found[name] = value
                self._erased.discard(subject_id)

    def get(self, subject_id: str) -> dict[str, str]:
        with self._lock:
            return dict(self._data.get(subject_id, {}))

    def get_many(self, subject_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        with self._lock:
            return {i: dict(self._data[i]) for i in set(subject_ids) if self._data.get(i)}

    def erased(self, subject_id: str) -> bool:
        with self._lock:
            return subject_id in self._erased

    def erased_among(self, subject_ids: Iterable[str]) -> set[str]:
        with self._lock:
            return set(subject_ids) & self._erased

    def erase(self, subject_id: str) -> None:
        with self._lock:
            self._data.pop(subject_id, None)
            self._erased.add(subject_id)

    def lookup_key(self) -> bytes:
        return self._key


class SqlPersonalData:
    """On the event recorder's datastore: ``gb_personal_data`` (one JSON object of fields
    per subject, and when it was erased) and ``gb_ledger_keys`` (the digest key, made
    once). ``dialect`` is "sqlite" or "postgres" (placeholders and schema differ)."""

    def __init__(self, datastore: Any, dialect: str, *, create_tables: bool) -> None:
        self.datastore = datastore
        self.dialect = dialect
        self._param = "?" if dialect == "sqlite" else "%s"
        prefix = ""
        if dialect == "postgres":
            schema = str(getattr(datastore, "schema", "") or "public")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
                raise ValueError(f"unexpected schema name {schema!r}")
            prefix = f'"{schema}".'
        self.table = f"{prefix}gb_personal_data"
        self.keys = f"{prefix}gb_ledger_keys"
        self._key: bytes | None = None
        self._key_lock = threading.Lock()
        if create_tables:
            self.create_tables()

    def _sql(self, text: str) -> str:
        return text.replace("?", self._param)

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                "subject_id TEXT PRIMARY KEY, data TEXT NOT NULL, erased BOOLEAN NOT NULL)"
            )
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.keys} (name TEXT PRIMARY KEY, key TEXT NOT NULL)"
            )

    def _read(self, cursor: Any, subject_id: str) -> tuple[dict[str, str], bool] | None:
        cursor.execute(
            self._sql(f"SELECT data, erased FROM {self.table} WHERE subject_id = ?"),
            (subject_id,),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        data, erased = (row["data"], row["erased"]) if isinstance(row, dict) else tuple(row)
        return json.loads(data), bool(erased)

    def put(self, subject_id: str, values: Mapping[str, str | None]) -> None:
        self.put_many({subject_id: values})

    def put_many(self, items: Mapping[str, Mapping[str, str | None]]) -> None:
        for values in items.values():
            _check(values)
        with self.datastore.transaction(commit=True) as cursor:
            rows = []
            for subject_id, values in items.items():
                found = self._read(cursor, subject_id)
                data = dict(found[0]) if found else {}
                for name, value in values.items():
                    if value is None:
                        data.pop(name, None)
                    else:
                        data[name] = value
                rows.append((subject_id, json.dumps(data, ensure_ascii=False), False))
            if rows:
                cursor.executemany(
                    self._sql(
                        f"INSERT INTO {self.table} (subject_id, data, erased) VALUES (?, ?, ?) "
                        "ON CONFLICT (subject_id) DO UPDATE SET data = excluded.data, "
                        "erased = excluded.erased"
                    ),
                    rows,
                )

    def get(self, subject_id: str) -> dict[str, str]:
        with self.datastore.transaction(commit=False) as cursor:
            found = self._read(cursor, subject_id)
        return dict(found[0]) if found else {}

    def get_many(self, subject_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        wanted = sorted(set(subject_ids))
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join(self._param for _ in chunk)
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(
                    f"SELECT subject_id, data FROM {self.table} WHERE subject_id IN ({marks})",
                    tuple(chunk),
                )
                for row in cursor.fetchall():
                    subject, data = (
                        (row["subject_id"], row["data"]) if isinstance(row, dict) else tuple(row)
                    )
                    values = json.loads(data)
                    if values:
                        found[subject] = values
        return found

    def erased(self, subject_id: str) -> bool:
        with self.datastore.transaction(commit=False) as cursor:
            found = self._read(cursor, subject_id)
        return bool(found and found[1])

    def erased_among(self, subject_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(subject_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join(self._param for _ in chunk)
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(
                    f"SELECT subject_id, erased FROM {self.table} WHERE subject_id IN ({marks})",
                    tuple(chunk),
                )
                for row in cursor.fetchall():
                    subject, erased = (
                        (row["subject_id"], row["erased"]) if isinstance(row, dict) else tuple(row)
                    )
                    if erased:
                        found.add(subject)
        return found

    def erase(self, subject_id: str) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self.table} (subject_id, data, erased) VALUES (?, '{{}}', ?) "
                    "ON CONFLICT (subject_id) DO UPDATE SET data = '{}', erased = excluded.erased"
                ),
                (subject_id, True),
            )

    def lookup_key(self) -> bytes:
        with self._key_lock:
            if self._key is None:
                self._key = self._load_or_make_key()
            return self._key

    def _load_or_make_key(self) -> bytes:
        made = secrets.token_hex(32)
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                self._sql(
                    f"INSERT INTO {self.keys} (name, key) VALUES (?, ?) "
                    "ON CONFLICT (name) DO NOTHING"
                ),
                (KEY_NAME, made),
            )
            cursor.execute(self._sql(f"SELECT key FROM {self.keys} WHERE name = ?"), (KEY_NAME,))
            row = cursor.fetchone()
        key = row["key"] if isinstance(row, dict) else row[0]
        return bytes.fromhex(key)


def personal_data_for(recorder: Any, *, create_tables: bool) -> PersonalData:
    """The store that goes with an event recorder: SQL on its datastore, else memory."""
    datastore = getattr(recorder, "datastore", None)
    module = type(recorder).__module__
    if datastore is not None and module.startswith("eventsourcing.sqlite"):
        return SqlPersonalData(datastore, "sqlite", create_tables=create_tables)
    if datastore is not None and module.startswith("eventsourcing.postgres"):
        return SqlPersonalData(datastore, "postgres", create_tables=create_tables)
    return MemoryPersonalData()
