"""The auditor's pages (SPEC §1, §8): the event log page by page with each event's chain
value, the export of the whole log, and the verification of the chain on demand.

Only auditors may open them, as only auditors may read ``GET /api/v1/audit/events``
(api/endpoints/audit.py). The browser lists what that endpoint lists: events the
``audit`` projection has chained, after position ``?after=``, oldest first.

The export (``GET /staff/audit/export``) is the file ``goldbean audit export`` writes
(api/cli_projections.py): a header line, then one JSON line per event with its chain
value. ``exported_at`` is the ledger's clock (the real time in production, the fake clock
in tests), so the months recomputed from the file are the ledger's months.

The verification (``POST /staff/audit/verify``) writes such an export to a temporary
file and checks it with the auditor's own verifier (projections/verifier.py): the chain
recomputed from the events, the event count, and every monthly public report recomputed
from the events against the published ones; then the read tables against a replay of the
log (projections/check.py, as ``goldbean projections check``). It runs while the request
waits: on a log of a million events that takes minutes.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from flask_babel import lazy_gettext

from api.audit_export import export_to
from api.context import jobs_of, ledger_of, reading, runner_of
from api.jobs import Job, Progress
from api.reports import FundReport, current_period
from api.web.support import page, who
from ledger.catalog import topics_by_kind
from projections import queries
from projections.check import check
from projections.verifier import (
    VerifyError,
    compare_reports,
    compute_reports,
    read_export,
    verify_chain,
)

bp = Blueprint("auditor", __name__)

AUDITOR = "auditor"  # GET /api/v1/audit/events: auditors only
VERIFY = "audit-verify"  # the kind of job "verify now" is
STAGE_NAMES = {
    "starting": lazy_gettext("Starting"),
    "export": lazy_gettext("Exporting the log"),
    "chain": lazy_gettext("Recomputing the chain"),
    "reports": lazy_gettext("Recomputing the fund reports"),
    "tables": lazy_gettext("Comparing the read tables with a replay"),
    "finished": lazy_gettext("Finished"),
}
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
EXPORT_BATCH = 5000
CHUNK = 64 * 1024
EXPORT_MIMETYPE = "application/x-ndjson"

#: the kinds of record an event can belong to (the filter of the browser), by class name
KIND_NAMES = {
    "Volunteer": lazy_gettext("Volunteer accounts"),
    "Beneficiary": lazy_gettext("Beneficiary accounts"),
    "Pool": lazy_gettext("Gift pool"),
    "Merchant": lazy_gettext("Merchants"),
    "Incident": lazy_gettext("Incidents"),
    "Activity": lazy_gettext("Activities"),
    "Redemption": lazy_gettext("Redemptions and refunds"),
    "Gift": lazy_gettext("Gifts"),
    "PoolAllocation": lazy_gettext("Gift pool allocations"),
    "Allotment": lazy_gettext("Allotments"),
    "Correction": lazy_gettext("Corrections"),
    "Donation": lazy_gettext("Donations"),
    "Fund": lazy_gettext("Fund"),
    "Settlement": lazy_gettext("Settlements"),
    "CardRegistered": lazy_gettext("Card registrations"),
    "PaymentCodeUsed": lazy_gettext("Payment codes used"),
    "AccountNumberClaimed": lazy_gettext("Account numbers"),
}


TOPICS_BY_KIND = {k: v for k, v in topics_by_kind().items() if k in KIND_NAMES}


# --- the event log ---------------------------------------------------------------------------


def _query_int(name: str, default: int, maximum: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return min(max(value, 0), maximum)


def event_page(after: int, limit: int, topics: list[str] | None) -> tuple[list[dict], int | None]:
    """Chained events after ``after`` (oldest first, at most ``limit``) and the position
    to continue after (None: no more for now), as ``GET /api/v1/audit/events``."""
    with reading() as conn:
        chained = queries.position(conn, "audit")
        batch = ledger_of().read_log(after, limit, stop=chained, topics=topics or ())
        chains = queries.chain_values(conn, [n.position for n in batch])
    items = []
    for n in batch:
        data = json.loads(n.state)
        stamp = data.get("timestamp")
        at = stamp.get("_data_") if isinstance(stamp, dict) else stamp
        items.append(
            {
                "position": n.position,
                "at": at if isinstance(at, str) else None,
                "type": n.topic,
                "short_type": n.topic.rpartition(":")[2],
                "originator_id": n.originator_id,
                "version": n.version,
                "data": json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True),
                "chain": chains.get(n.position, ""),
            }
        )
    more = len(batch) == limit and batch[-1].position < chained
    return items, (batch[-1].position if more else None)


@bp.get("/staff/audit")
@page(AUDITOR)
def audit_events() -> str:
    """The event log, ``?after=`` a position, optionally of one ``?kind=`` of record."""
    after = _query_int("after", 0, 2**63 - 1)
    limit = _query_int("limit", PAGE_SIZE, MAX_PAGE_SIZE) or PAGE_SIZE
    kind = request.args.get("kind", "")
    if kind not in TOPICS_BY_KIND:
        kind = ""
    items, next_after = event_page(after, limit, TOPICS_BY_KIND.get(kind))
    with reading() as conn:
        chained = queries.position(conn, "audit")

    def href(position: int) -> str:
        query = {"kind": kind} if kind else {}
        if limit != PAGE_SIZE:
            query["limit"] = str(limit)
        return "/staff/audit?" + urlencode({**query, "after": str(position)})

    return render_template(
        "web_audit_events.html",
        first_href=href(0) if after else None,
        next_href=href(next_after) if next_after is not None else None,
        items=items,
        after=after,
        next_after=next_after,
        limit=limit,
        kind=kind,
        kinds=[(k, KIND_NAMES[k]) for k in KIND_NAMES if k in TOPICS_BY_KIND],
        chained=chained,
    )


# --- the export --------------------------------------------------------------------------------


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := file.read(CHUNK):
            yield chunk
    finally:
        file.close()


@bp.get("/staff/audit/export")
@page(AUDITOR)
def audit_export() -> Response:
    """The export as a download (JSON Lines), for `goldbean audit verify FILE`."""
    file = tempfile.TemporaryFile("w+b")
    try:
        with open(file.fileno(), "w", encoding="utf-8", closefd=False) as text:
            exported_at = export_to(text).exported_at
        file.seek(0)
    except BaseException:
        file.close()
        raise
    ledger = ledger_of()
    name = f"goldbean-audit-{ledger.day_of(exported_at)}.jsonl"
    response = Response(_chunks(file), mimetype=EXPORT_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- verification ------------------------------------------------------------------------------


def _published(head: int) -> tuple[dict[str, dict], bool]:
    """The published reports as ``GET /api/v1/public/fund-reports/{period}`` serves them,
    and whether they were read at another position of the log than ``head`` (the
    export's: the log grew meanwhile, or a separate projector lags)."""
    current = current_period()
    value = ledger_of().rules.bean_value_fen
    schema = FundReport()
    with reading() as conn:
        moved = queries.position(conn, "books") != head
        reports = {}
        for period in queries.report_periods(conn, current):
            report = queries.fund_report(conn, period, value, current)
            if report is not None:
                reports[period] = json.loads(json.dumps(schema.dump(report), ensure_ascii=False))
    return reports, moved


def verify_log(progress: Progress | None = None) -> dict[str, Any]:
    """Export the log, verify the export, compare the reports and the read tables;
    ``progress(stage, done, total)`` hears how far it got."""
    note = progress or (lambda _stage, _done, _total: None)
    started = time.perf_counter()
    result: dict[str, Any] = {"ok": False, "error": None}
    with tempfile.TemporaryDirectory(prefix="goldbean-verify-") as directory:
        path = Path(directory) / "export.jsonl"
        with path.open("w", encoding="utf-8") as out:
            exported = export_to(out, lambda done, total: note("export", done, total))
            head, exported_at = exported.head, exported.exported_at
        try:
            note("chain", 0, exported.events)
            header, events = read_export(path)
            chain = verify_chain(events, keep_heads=False)
            note("reports", 0, exported.events)
            computed = compute_reports(header, read_export(path)[1])
        except VerifyError as error:
            result["error"] = str(error)
            result["seconds"] = time.perf_counter() - started
            return result
    published, moved = _published(head)
    skipped = None
    if moved:  # the open month changed after the export: compare the closed months only
        skipped = current_period()
        computed.pop(skipped, None)
        published.pop(skipped, None)
    differences = compare_reports(computed, published)
    replayed = [0]

    def replaying(count: int) -> None:
        replayed[0] += count
        note("tables", replayed[0], head * len(runner_of().projections))

    table_differences = check(runner_of(), progress=replaying, limit=5)
    result.update(
        {
            "events": chain.count,
            "header_events": header.get("events"),
            "count_ok": header.get("events") == chain.count,
            "chain_ok": chain.ok,
            "chain_reason": chain.reason,
            "first_mismatch": chain.first_mismatch,
            "head": chain.head,
            "exported_at": exported_at.isoformat(),
            "months": len(computed),
            "reports_ok": not differences,
            "report_difference": differences[0] if differences else None,
            "report_differences": len(differences),
            "skipped_period": skipped,
            "tables_ok": not table_differences,
            "table_difference": str(table_differences[0]) if table_differences else None,
        }
    )
    result["ok"] = all(result[name] for name in ("count_ok", "chain_ok", "reports_ok", "tables_ok"))
    result["seconds"] = time.perf_counter() - started
    return result


@bp.post("/staff/audit/verify")
@page(AUDITOR)
def audit_verify() -> Any:
    """Start verifying the chain, the reports and the read tables (in the background:
    on a large log it takes minutes), or join the verification already running."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's proxy
    job = jobs_of().start(app, VERIFY, who().username or AUDITOR, verify_log)
    return redirect(f"/staff/audit/verify/{job.job_id}", code=303)


@bp.get("/staff/audit/verify")
@page(AUDITOR)
def audit_verify_latest() -> Any:
    """The latest verification, running or done."""
    job = jobs_of().latest(VERIFY)
    return render_template("web_audit_verify.html", job=job, **_shown(job))


@bp.get("/staff/audit/verify/<job_id>")
@page(AUDITOR)
def audit_verify_job(job_id: str) -> Any:
    """One verification: its progress while it runs (the page renews itself), then its
    result, kept for every auditor to read."""
    job = jobs_of().get(job_id)
    if job is None or job.kind != VERIFY:
        abort(404)
    return render_template("web_audit_verify.html", job=job, **_shown(job))


def _shown(job: Job | None) -> dict[str, Any]:
    result = dict(job.result) if job is not None and job.result is not None else None
    if result is not None and result.get("exported_at"):
        result["exported_at"] = datetime.fromisoformat(result["exported_at"])
    stage = STAGE_NAMES.get(job.stage, job.stage) if job is not None else None
    percent = None
    if job is not None and job.total:
        percent = min(100, int(job.done * 100 / job.total))
    return {"result": result, "stage": stage, "percent": percent}
