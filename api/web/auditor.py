"""The auditor's pages (SPEC §1, §8): the event log page by page with each event's chain
value, the export of the whole log, and the verification of the chain on demand.

Only auditors may open them, as only auditors may read ``GET /api/v1/audit/events``
(api/endpoints/audit.py). The browser lists the events the ``audit`` projection has
chained, the newest first (``?before=`` a position pages back), filtered by the kind of
record, an account (by number or id: its own events and every event naming it) and a
range of days (issue 17). Each event is named in words and its fields are labelled and
written for a person (api/web/audit_words.py); the chain value stays beside it.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode
from uuid import UUID

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from api.audit_export import export_to
from api.context import jobs_of, ledger_of, reading, runner_of
from api.jobs import Job, Progress
from api.reports import FundReport, current_period
from api.web.audit_words import (
    account_ids_in,
    describe,
    event_name,
    kind_name,
    mentions,
    plain,
)
from api.web.support import page, who
from ledger.catalog import topics_by_kind
from ledger.errors import LedgerError
from ledger.views import LoggedEvent
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
#: the events read from the log at once, and at most for one page of a filtered search
SCAN_WINDOW = 2000
MAX_SCAN = 50_000
#: the kinds of record that are accounts (named by their holder on the page)
ACCOUNT_KINDS = frozenset({"Volunteer", "Beneficiary", "Pool", "Merchant"})
#: the system sides of a double entry (ledger/accounts.py), which are no account
ISSUANCE, RETIRED = "issuance", "retired"

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
    "ApprovalRequest": lazy_gettext("Requests for a second person's approval"),
}


TOPICS_BY_KIND = {k: v for k, v in topics_by_kind().items() if k in KIND_NAMES}


# --- the event log ---------------------------------------------------------------------------


def _query_int(name: str, default: int, maximum: int) -> int:
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return min(max(value, 0), maximum)


def _query_day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


@dataclass
class Filters:
    """What the auditor asked to see: one kind of record, one account, a range of days."""

    kind: str = ""
    account: str = ""  # as typed: an account number or id
    account_id: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    error: str | None = None

    def query(self) -> dict[str, str]:
        """The filters as GET parameters (kept by every link of the pages)."""
        found = {
            "kind": self.kind,
            "account": self.account,
            "from": self.day_from.isoformat() if self.day_from else "",
            "to": self.day_to.isoformat() if self.day_to else "",
        }
        return {name: value for name, value in found.items() if value}


def _filters() -> Filters:
    kind = request.args.get("kind", "")
    filters = Filters(kind=kind if kind in TOPICS_BY_KIND else "")
    filters.day_from, filters.day_to = _query_day("from"), _query_day("to")
    if filters.day_from and filters.day_to and filters.day_from > filters.day_to:
        filters.day_from, filters.day_to = filters.day_to, filters.day_from
    typed = request.args.get("account", "").strip()[:64]
    filters.account = typed
    if typed:
        filters.account_id = _account_id(typed)
        if filters.account_id is None:
            filters.error = _("No account has the number or id %(account)s.", account=typed)
    return filters


def _account_id(typed: str) -> str | None:
    """The account an auditor named by its number (spaces and dashes allowed) or its id."""
    ledger = ledger_of()
    try:
        return str(UUID(typed))
    except ValueError:
        pass
    number = "".join(ch for ch in typed if ch not in " -")
    try:
        return ledger.account_id_for_number(number)
    except LedgerError:
        return None


def _event_day(state: str) -> str | None:
    """The programme's calendar day of a stored event (None if it has no timestamp)."""
    stamp = json.loads(state).get("timestamp")
    at = stamp.get("_data_") if isinstance(stamp, dict) else stamp
    if not isinstance(at, str):
        return None
    return ledger_of().day_of(datetime.fromisoformat(at))


def _first_position(head: int, later_than: Callable[[str], bool]) -> int:
    """The first position (1..head+1) whose event's day is ``later_than`` what is asked
    (the log is in time order): a binary search reading one event a step."""
    ledger = ledger_of()
    low, high = 1, head + 1
    while low < high:
        middle = (low + high) // 2
        found = ledger.read_log(middle - 1, 1, stop=head)
        event_day = _event_day(found[0].state) if found else None
        if found and event_day is not None and later_than(event_day):
            high = middle
        elif found:
            low = found[0].position + 1 if found[0].position >= middle else middle + 1
        else:
            high = middle
    return low


@dataclass
class EventPage:
    items: list[dict]
    next_before: int | None  # where the next (older) page starts; None: no older events
    searched_to: int | None  # set when the search stopped early at this position


def newest_first(before: int | None, limit: int, filters: Filters, head: int) -> EventPage:
    """Up to ``limit`` chained events before position ``before`` (the newest first) that
    pass ``filters``. The range of days is found by binary search; the kind of record
    filters in the database; an account (its own events and every event naming it) in
    Python, reading at most :data:`MAX_SCAN` events a page (then the page says where it
    stopped and offers to search on)."""
    ledger = ledger_of()
    high = min(before if before is not None else head + 1, head + 1)
    low = 1
    if filters.day_to is not None:
        last = filters.day_to.isoformat()
        high = min(high, _first_position(head, lambda d: d > last))
    if filters.day_from is not None:
        first = filters.day_from.isoformat()
        low = _first_position(head, lambda d: d >= first)
    topics = TOPICS_BY_KIND.get(filters.kind) or ()
    found: list[LoggedEvent] = []
    cursor, scanned = high, 0
    while cursor > low and len(found) < limit and scanned < MAX_SCAN:
        start = max(low, cursor - SCAN_WINDOW)
        batch = ledger.read_log(start - 1, cursor - start, stop=cursor - 1, topics=topics)
        scanned += cursor - start
        cursor = start
        for event in reversed(batch):
            if filters.account_id is not None and not _names(event, filters.account_id):
                continue
            found.append(event)
            if len(found) == limit:
                cursor = event.position
                break
    if len(found) == limit:
        more = cursor > low
        return EventPage(_in_words(found), cursor if more else None, None)
    if cursor > low:  # the search budget ran out
        return EventPage(_in_words(found), cursor, cursor)
    return EventPage(_in_words(found), None, None)


def _names(event: LoggedEvent, account_id: str) -> bool:
    """Whether the event is the account's own or names it (the text is searched first:
    most events do not, and are not decoded)."""
    if event.originator_id == account_id:
        return True
    if account_id not in event.state and account_id.replace("-", "") not in event.state:
        return False
    return mentions(plain(json.loads(event.state)), account_id)


def _in_words(batch: list[LoggedEvent]) -> list[dict]:
    """The events as the page shows them: in words, with their chain values."""
    decoded = [(n, plain(json.loads(n.state))) for n in batch]
    mentioned: set[str] = set()
    for n, data in decoded:
        mentioned |= account_ids_in(data)
        mentioned.add(n.originator_id)
    with reading() as conn:
        chains = queries.chain_values(conn, sorted(n.position for n in batch))
        names = AccountNames(conn, mentioned)
    items = []
    for n, data in decoded:
        qualname = n.topic.rpartition(":")[2]
        kind = qualname.rpartition(".")[0]
        at = data.get("timestamp")
        items.append(
            {
                "position": n.position,
                "at": at if isinstance(at, str) else None,
                "type": qualname,
                "name": event_name(qualname),
                "kind": kind_name(kind),
                "record": names.record(n.originator_id, kind),
                "originator_id": n.originator_id,
                "version": n.version,
                "fields": describe(qualname, data, names),
                "chain": chains.get(n.position, ""),
            }
        )
    return items


class AccountNames:
    """Accounts as the auditor reads them: a person by name and account number, a merchant
    by name, the pool and the issuing side in words. Read at once for a page: the names
    from the read model, the people's numbers from the personal-data store."""

    def __init__(self, conn: Any, account_ids: set[str]) -> None:
        self.accounts = queries.account_kinds_and_names(conn, sorted(account_ids))
        people = [i for i, a in self.accounts.items() if a["kind"] in ("volunteer", "beneficiary")]
        self.numbers = ledger_of().account_numbers(people)

    def __call__(self, account_id: str) -> str:
        if account_id == ISSUANCE:
            return _("Newly issued beans")
        if account_id == RETIRED:
            return _("Beans taken out of circulation")
        account = self.accounts.get(account_id)
        if account is None:  # no account (or not read yet): its id, shortened
            return account_id[:8] + "…" if len(account_id) > 12 else account_id
        if account["kind"] == "pool":
            return _("Gift pool")
        name, number = account["display_name"], self.numbers.get(account_id)
        if account["kind"] == "merchant":
            return name
        if not name and not number:
            return _("(personal data erased)")
        return _("%(name)s (account %(number)s)", name=name, number=number) if number else name

    def record(self, record_id: str, kind: str) -> str:
        """The record an event belongs to: an account by name, other records by kind."""
        if kind in ACCOUNT_KINDS:
            return self(record_id)
        return record_id[:8]


@bp.get("/staff/audit")
@page(AUDITOR)
def audit_events() -> str:
    """The event log, the newest first: ``?before=`` a position, with ``?kind=`` of record,
    ``?account=`` (a number or id), ``?from=`` and ``?to=`` days."""
    raw_before = request.args.get("before", "")
    before = _query_int("before", 0, 2**63 - 1) if raw_before else None
    limit = _query_int("limit", PAGE_SIZE, MAX_PAGE_SIZE) or PAGE_SIZE
    filters = _filters()
    with reading() as conn:
        chained = queries.position(conn, "audit")
    if filters.error:
        shown = EventPage([], None, None)
    else:
        shown = newest_first(before, limit, filters, chained)

    def href(position: int | None) -> str:
        query = filters.query()
        if limit != PAGE_SIZE:
            query["limit"] = str(limit)
        if position is not None:
            query["before"] = str(position)
        return "/staff/audit" + ("?" + urlencode(query) if query else "")

    next_before = shown.next_before
    return render_template(
        "web_audit_events.html",
        first_href=href(None) if before is not None else None,
        next_href=href(next_before) if next_before is not None else None,
        items=shown.items,
        searched_to=shown.searched_to,
        limit=limit,
        filters=filters,
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
