"""The audit export of this app's log (projections/audit_export.py writes the format):
for the auditor's page, and for anyone at ``GET /api/v1/public/audit/export``.

The log holds no personal data or secrets (ledger/personal.py), so the whole of it may be
published: anyone can download it and check the published chain heads and every report
with ``goldbean audit verify https://the-site``. Writing an export reads the whole log,
so the public one is written at most once a minute per worker and shared by every
download meanwhile (one writer at a time). Bottom floor."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import Flask, current_app

from api.context import ledger_of, runner_of, settings_of
from projections.audit_export import Exported, write_export

#: how long a public export is served again before a new one is written
FRESH_SECONDS = 60.0
EXTENSION = "goldbean.public_export"


def export_to(out: IO[str], progress: Callable[[int, int], None] | None = None) -> Exported:
    """Write the audit export of this app's log to ``out``."""
    settings, ledger = settings_of(), ledger_of()
    return write_export(
        out,
        runner_of(),
        time_zone=settings.time_zone,
        bean_value_fen=settings.bean_value_fen,
        now=ledger.now,
        progress=progress,
    )


@dataclass
class _Cached:
    lock: threading.Lock
    path: Path | None = None
    written_at: float = 0.0
    exported: Exported | None = None


def public_export(app: Flask | None = None) -> tuple[Path, Exported]:
    """The current public export file (written anew when older than a minute)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cached: _Cached = app.extensions.setdefault(EXTENSION, _Cached(threading.Lock()))
    with cached.lock:
        fresh = time.monotonic() - cached.written_at < FRESH_SECONDS
        if cached.path is not None and cached.exported is not None and fresh:
            return cached.path, cached.exported
        handle, name = tempfile.mkstemp(prefix="goldbean-public-export-", suffix=".jsonl")
        path = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                exported = export_to(out)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        old, cached.path, cached.exported = cached.path, path, exported
        cached.written_at = time.monotonic()
    if old is not None:  # a download still reading it keeps its open file
        old.unlink(missing_ok=True)
    return path, exported
