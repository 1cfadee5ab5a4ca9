"""The auditor's independent verifier (``goldbean audit verify FILE [--reports SRC]``).

It reads an exported event log (docs/REPORTS.md, "The export"), recomputes the audit
chain and every monthly public fund report from the events alone, and compares them with
the chain values recorded in the file and with the published reports.

This is a second implementation of docs/REPORTS.md, written apart from the projections so
that each checks the other. It uses the Python standard library only and imports nothing
from ``ledger/``, ``api/`` or the rest of ``projections/`` but its own second half,
``projections/verifier_reports.py`` (the chain step and the report figures): an auditor
can read the two files and run them with a bare Python 3.11.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from projections.verifier_reports import (
    ANONYMOUS,
    DEFAULT_BEAN_VALUE_FEN,
    DEFAULT_TIME_ZONE,
    GENESIS,
    NAMED_DONOR,
    VerifyError,
    chain_step,
    compute_reports,
    is_int,
    link,
    parse_instant,
    zone_of,
)

__all__ = [
    "ANONYMOUS",
    "GENESIS",
    "ChainResult",
    "VerifyError",
    "chain_step",
    "compare_reports",
    "compute_reports",
    "load_published",
    "read_export",
    "verify",
    "verify_chain",
]

FORMAT, FORMAT_VERSION = "goldbean-audit-export", 1
EVENT_FIELDS: dict[str, type] = {
    "position": int,
    "originator_id": str,
    "version": int,
    "topic": str,
    "state": str,
    "chain": str,
}
PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
REPORTS_PATH = "/api/v1/public/fund-reports"
EXPORT_PATH = "/api/v1/public/audit/export"
HTTP_TIMEOUT = 30


# --- reading the export ----------------------------------------------------------------


def read_export(path: str | Path) -> tuple[dict, Iterator[dict]]:
    """The header of an export file and an iterator over its event lines, each checked
    as it is read. Raises VerifyError, naming the line, for a malformed line."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            first = file.readline()
    except OSError as error:
        raise VerifyError(f"cannot read {path}: {error.strerror or error}") from error
    return _check_header(_parse_line(first, 1)), _event_lines(path)


def _event_lines(path: Path) -> Iterator[dict]:
    """The event lines after the header (blank lines are skipped)."""
    with path.open("rb") as file:
        file.readline()
        for number, raw in enumerate(file, start=2):
            if raw.strip():
                yield _check_event(_parse_line(raw, number), number)


def _parse_line(raw: bytes, number: int) -> dict:
    """One line as a JSON object."""
    if not raw.strip():
        raise VerifyError(f"line {number} is empty")
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise VerifyError(f"line {number} is not UTF-8 ({error.reason})") from error
    except ValueError as error:
        raise VerifyError(f"line {number} is not JSON ({error})") from error
    if not isinstance(value, dict):
        raise VerifyError(f"line {number} is not a JSON object")
    return value


def _check_header(header: dict) -> dict:
    """The header, if it is one this verifier understands."""
    if header.get("format") != FORMAT or header.get("version") != FORMAT_VERSION:
        raise VerifyError(
            f"line 1 is not the header of a {FORMAT} version {FORMAT_VERSION} file "
            f"(format {header.get('format')!r}, version {header.get('version')!r})"
        )
    zone_of(header)
    value = header.get("bean_value_fen", DEFAULT_BEAN_VALUE_FEN)
    if not is_int(value) or value <= 0:
        raise VerifyError(f"line 1: bean_value_fen must be a positive integer, not {value!r}")
    if "exported_at" in header:
        parse_instant(header["exported_at"], "line 1: exported_at")
    if "events" in header and (not is_int(header["events"]) or header["events"] < 0):
        raise VerifyError(f"line 1: events must be a count, not {header['events']!r}")
    return header


def _check_event(event: dict, number: int) -> dict:
    """An event line, if every field is there with the right type."""
    for name, kind in EVENT_FIELDS.items():
        value = event.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            what = "an integer" if kind is int else "a string"
            raise VerifyError(f"line {number}: {name} is missing or is not {what}")
    if not (0 <= event["position"] < 2**64 and 0 <= event["version"] < 2**64):
        raise VerifyError(f"line {number}: position and version must fit in 8 unsigned bytes")
    try:
        uuid.UUID(event["originator_id"])
    except ValueError:
        raise VerifyError(f"line {number}: originator_id is not a UUID") from None
    if not re.fullmatch(r"[0-9a-fA-F]{64}", event["chain"]):
        raise VerifyError(f"line {number}: chain is not 64 hex digits")
    return event


# --- the audit chain -------------------------------------------------------------------


@dataclass
class ChainResult:
    """What :func:`verify_chain` found. ``heads`` maps each position to the recomputed
    chain value (hex) after it; ``head`` is the value after the last event."""

    ok: bool
    count: int
    first_mismatch: int | None
    reason: str
    heads: dict[int, str] = field(default_factory=dict)
    head: str | None = None


def verify_chain(events: Iterable[dict], keep_heads: bool = True) -> ChainResult:
    """Recompute the chain over the events in file order and compare it with each line's
    ``chain``; positions must strictly increase. ``first_mismatch`` is the position of
    the first line that is out of order or whose recorded value differs: a changed event
    shows at its own position, a removed one at the next line, two swapped lines at the
    first of them."""
    previous, last_position, count = GENESIS, -1, 0
    first_mismatch: int | None = None
    reason = ""
    heads: dict[int, str] = {}
    for event in events:
        position = event["position"]
        previous = link(previous, event)
        value = previous.hex()
        count += 1
        if keep_heads:
            heads[position] = value
        if first_mismatch is None and position <= last_position:
            first_mismatch = position
            reason = (
                f"the chain breaks at position {position}: it comes after position "
                f"{last_position}, but positions must increase (lines were reordered)"
            )
        elif first_mismatch is None and event["chain"].lower() != value:
            first_mismatch = position
            reason = (
                f"the chain breaks at position {position}: recorded {event['chain'][:12]}… "
                f"but the events give {value[:12]}… (this event, or one just before it, "
                f"was changed, removed or moved)"
            )
        last_position = max(last_position, position)
    head = previous.hex() if count else None
    if first_mismatch is None:
        reason = f"intact over {count} events, head {head}" if count else "no events to chain"
    return ChainResult(first_mismatch is None, count, first_mismatch, reason, heads, head)


# --- comparing with the published reports ----------------------------------------------


def compare_reports(computed: dict[str, dict], published: dict[str, dict]) -> list[str]:
    """Every difference between the published and the recomputed reports, field by field
    (``final`` is not compared), in period order and then in the order of the report's
    fields, e.g. ``2026-10 beans.issued.total: published 120, recomputed 130``."""
    differences: list[str] = []
    for period in sorted(set(computed) | set(published)):
        if period not in published:
            differences.append(f"{period}: recomputed but not published")
        elif period not in computed:
            differences.append(f"{period}: published but not recomputed")
        else:
            _compare(period, "", published[period], computed[period], differences)
    return differences


def _compare(period: str, path: str, published: Any, recomputed: Any, out: list[str]) -> None:
    """Add the differences under ``path`` to ``out``."""
    where = f"{period} {path}" if path else period
    if isinstance(published, dict) and isinstance(recomputed, dict):
        keys = list(recomputed) + [key for key in published if key not in recomputed]
        for key in keys:
            if not path and key == "final":
                continue
            inner = f"{path}.{key}" if path else str(key)
            if key not in published:
                if not path and key == "rule_changes" and recomputed[key] == []:
                    continue  # a report of a server from before rules on the record
                out.append(f"{period} {inner}: not published, recomputed {_show(recomputed[key])}")
            elif key not in recomputed:
                out.append(f"{period} {inner}: published {_show(published[key])}, not recomputed")
            else:
                _compare(period, inner, published[key], recomputed[key], out)
    elif isinstance(published, list) and isinstance(recomputed, list):
        if len(published) != len(recomputed):
            out.append(f"{where}: published {len(published)} items, recomputed {len(recomputed)}")
        for number, (mine, theirs) in enumerate(zip(published, recomputed, strict=False)):
            _compare(period, f"{path}[{number}]", mine, theirs, out)
    elif recomputed == NAMED_DONOR:
        if not isinstance(published, str) or not published or published == ANONYMOUS:
            out.append(f"{where}: published {_show(published)}, recomputed a named donor")
    elif isinstance(published, bool) != isinstance(recomputed, bool) or published != recomputed:
        out.append(f"{where}: published {_show(published)}, recomputed {_show(recomputed)}")


def _show(value: Any) -> str:
    """A value as JSON, shortened if long."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


# --- the published reports -------------------------------------------------------------


def load_published(source: str) -> dict[str, dict]:
    """The published reports by period, from a directory of ``YYYY-MM.json`` files or
    from a running site (``http://host:port``: its public fund-report API)."""
    if re.match(r"https?://", source):
        return _load_from_site(source.rstrip("/"))
    directory = Path(source)
    if not directory.is_dir():
        raise VerifyError(f"{source} is neither a directory of YYYY-MM.json reports nor a URL")
    reports = {}
    for file in sorted(directory.glob("*.json")):
        if PERIOD.fullmatch(file.stem):
            try:
                reports[file.stem] = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise VerifyError(f"cannot read the report {file}: {error}") from error
    return reports


def _load_from_site(base: str) -> dict[str, dict]:
    """GET the list of reports, then each report."""
    listing = _get_json(base + REPORTS_PATH)
    items = listing.get("items") if isinstance(listing, dict) else None
    if not isinstance(items, list):
        raise VerifyError(f"GET {base + REPORTS_PATH}: the answer has no list of items")
    reports = {}
    for item in items:
        period = item.get("period") if isinstance(item, dict) else None
        if not isinstance(period, str) or not PERIOD.fullmatch(period):
            raise VerifyError(f"GET {base + REPORTS_PATH}: {item!r} names no period YYYY-MM")
        reports[period] = _get_json(f"{base}{REPORTS_PATH}/{period}")
    return reports


def _get_json(url: str) -> Any:
    """The JSON answer of a GET; VerifyError if it fails."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as answer:
            return json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise VerifyError(f"GET {url}: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise VerifyError(f"GET {url}: {reason}") from error
    except ValueError as error:
        raise VerifyError(f"GET {url}: the answer is not JSON ({error})") from error


# --- goldbean audit verify -------------------------------------------------------------


def verify(
    path: str | Path, reports_source: str | None = None, out: Callable[[str], Any] = print
) -> int:
    """Check an export: its chain, and (with ``reports_source``) the published reports.
    ``path`` may be a site's address (``https://host``): its public export is downloaded
    and its published reports compared, with no credentials. Prints what it finds
    through ``out``; returns 0 when all is good, 1 when anything differs, 2 when the
    export or the reports cannot be read."""
    try:
        if isinstance(path, str) and re.match(r"https?://", path):
            site = path.rstrip("/")
            with tempfile.TemporaryDirectory(prefix="goldbean-verify-") as folder:
                export = Path(folder) / "export.jsonl"
                _download(site + EXPORT_PATH, export)
                out(f"downloaded: {site + EXPORT_PATH}")
                return _verify(export, reports_source or site, out)
        return _verify(Path(path), reports_source, out)
    except VerifyError as error:
        out(f"error: {error}")
        return 2


def _download(url: str, to: Path) -> None:
    """GET ``url`` into the file ``to``; VerifyError if it fails."""
    request = urllib.request.Request(url, headers={"Accept": "application/x-ndjson"})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as answer, to.open("wb") as f:
            shutil.copyfileobj(answer, f)
    except urllib.error.HTTPError as error:
        raise VerifyError(f"GET {url}: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise VerifyError(f"GET {url}: {reason}") from error


def _verify(path: Path, reports_source: str | None, out: Callable[[str], Any]) -> int:
    header, events = read_export(path)
    out(
        f"export: {path}, exported at {header.get('exported_at', '(unknown)')}, "
        f"time zone {header.get('time_zone', DEFAULT_TIME_ZONE)}, "
        f"{header.get('bean_value_fen', DEFAULT_BEAN_VALUE_FEN)} fen per bean"
    )
    chain = verify_chain(events, keep_heads=False)
    status = 0
    out(f"events: {chain.count}")
    if "events" in header and header["events"] != chain.count:
        out(f"events: MISMATCH: the header announces {header['events']} events")
        status = 1
    out(f"chain: ok, {chain.reason}" if chain.ok else f"chain: MISMATCH: {chain.reason}")
    status = status or (0 if chain.ok else 1)
    computed = compute_reports(header, read_export(path)[1])
    if reports_source is None:
        months = f"{min(computed)} to {max(computed)}" if computed else "none"
        out(f"reports: recomputed {len(computed)} months ({months}); not compared")
        return status
    differences = compare_reports(computed, load_published(reports_source))
    if not differences:
        out(f"reports: ok, {len(computed)} months match the published reports")
        return status
    out(f"reports: MISMATCH: {differences[0]}")
    out(f"reports: {len(differences)} difference(s) in all")
    return 1
