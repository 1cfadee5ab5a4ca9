"""The till's journal of requests that move beans: an append-only JSON Lines file.

Before the POS client sends a POST it appends the request (its Idempotency-Key, method,
path and exact body) as ``pending`` and fsyncs; when the answer is known it appends the
same request again as ``done`` (2xx) or ``failed`` (a refusal), with the status and the
answer. The latest line of a key is its state, so a request whose answer never came
(the network failed, the till crashed) stays ``pending`` until ``PosClient.resume``
re-sends it with the same key and body and the server replays its first answer.

One line per event::

    {"key": "5f0c…", "at": "2026-03-10T02:00:01+00:00", "method": "POST",
     "path": "/api/v1/redemptions", "body": "{\\"code\\": \\"…\\", \\"amount\\": 7}",
     "state": "pending", "caller": "9b1d…"}

``caller`` (a short SHA-256 of the token that sent it) keeps ``resume`` from re-sending
with another terminal's token, whose keys live in another scope on the server. A line
that does not parse (the last one torn by a crash mid-write) is skipped with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

log = logging.getLogger(__name__)

State = Literal["pending", "done", "failed"]
STATES = ("pending", "done", "failed")


@dataclass(frozen=True)
class Entry:
    """One request of the journal, as its latest line says."""

    key: str
    at: str
    method: str
    path: str
    body: str
    state: State = "pending"
    status: int | None = None
    response: Any = None
    caller: str | None = None

    def to_line(self) -> str:
        fields = {name: value for name, value in asdict(self).items() if value is not None}
        return json.dumps(fields, ensure_ascii=False, separators=(", ", ": ")) + "\n"

    @classmethod
    def from_line(cls, line: str) -> Entry:
        """Raises ValueError (json.JSONDecodeError is one) for a line that is not an entry."""
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("state") not in STATES:
            raise ValueError("not a journal entry")
        try:
            return cls(**data)
        except TypeError as error:
            raise ValueError(f"not a journal entry: {error}") from None


def default_path() -> Path:
    """``$XDG_STATE_HOME/goldbean-pos/journal.jsonl``, else ``~/.local/state/…``."""
    state_home = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state_home) if os.path.isabs(state_home) else Path.home() / ".local" / "state"
    return base / "goldbean-pos" / "journal.jsonl"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Journal:
    """Append-only JSON Lines journal at ``path`` (created with its folder on first write)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # --- writing --------------------------------------------------------------------

    def begin(
        self,
        method: str,
        path: str,
        body: str,
        *,
        key: str | None = None,
        caller: str | None = None,
    ) -> Entry:
        """Record a request about to be sent (``pending``); a new uuid4 hex key unless given."""
        entry = Entry(key or uuid4().hex, now_iso(), method, path, body, caller=caller)
        return self.append(entry)

    def settle(self, entry: Entry, state: State, status: int, response: Any) -> Entry:
        """Record the answer to ``entry``: ``done`` or ``failed`` with status and body."""
        return self.append(
            replace(entry, at=now_iso(), state=state, status=status, response=response)
        )

    def append(self, entry: Entry) -> Entry:
        """Append one line and fsync it (and the folder, when the file is new)."""
        line = entry.to_line().encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if not new and not _ends_with_newline(self.path):
                    line = b"\n" + line  # a crash tore the last line: start a fresh one
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:
                _fsync_dir(self.path.parent)
        return entry

    # --- reading --------------------------------------------------------------------

    def lines(self) -> list[Entry]:
        """Every event in file order (unreadable lines skipped with a warning)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        events = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                events.append(Entry.from_line(line.decode("utf-8")))
            except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
                log.warning(
                    "journal %s: skipping unreadable line %d (torn by a crash?)", self.path, number
                )
        return events

    def entries(self) -> list[Entry]:
        """Each request once, in the order they were begun, as its latest line says."""
        latest: dict[str, Entry] = {}
        for event in self.lines():
            latest[event.key] = event  # a dict keeps a key where it was first put
        return list(latest.values())

    def pending(self) -> list[Entry]:
        """The requests whose answer is not known yet (what ``resume`` re-sends)."""
        return [entry for entry in self.entries() if entry.state == "pending"]


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(0, os.SEEK_END)
        if file.tell() == 0:
            return True
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


def _fsync_dir(folder: Path) -> None:
    """Make a new file's name durable too (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError as error:
        log.debug("cannot open %s to fsync it: %s", folder, error)
        return
    try:
        os.fsync(fd)
    except OSError as error:
        log.debug("cannot fsync %s: %s", folder, error)
    finally:
        os.close(fd)
