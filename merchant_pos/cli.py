"""``goldbean-pos``: the point of sale on the command line, for tills that script it.

    goldbean-pos redeem 483920175532 7 --note "two bowls of noodles"
    goldbean-pos refund 1b2c…-… 2
    goldbean-pos today [--date 2026-03-10]
    goldbean-pos pending [--all]          # requests whose answer never came
    goldbean-pos resume                   # send them again (same key: never twice)

Options (or environment): ``--server`` (``GOLDBEAN_POS_SERVER``, default
http://127.0.0.1:8000), ``--token`` (``GOLDBEAN_POS_TOKEN``, the terminal's token),
``--journal`` (``GOLDBEAN_POS_JOURNAL``, default ``$XDG_STATE_HOME/goldbean-pos/
journal.jsonl``), ``--json`` for machine output.

Exit codes: 0 done, 1 refused by the server (its code and detail are printed), 2 usage
(or the journal cannot be written), 3 the server did not answer (the request stays in the
journal as pending: run ``goldbean-pos resume`` when the network is back).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from datetime import date
from typing import Any

from merchant_pos.client import PosClient, PosError, PosUnavailable
from merchant_pos.dates import moment_text
from merchant_pos.journal import Entry, Journal

OK, REFUSED, USAGE, UNREACHABLE = 0, 1, 2, 3
DEFAULT_SERVER = "http://127.0.0.1:8000"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return int(exit_.code or 0)
    journal = Journal(args.journal or None)
    if args.command == "pending":
        return show_pending(journal, args)
    if not args.token:
        parser.print_usage(sys.stderr)
        print(
            "goldbean-pos: a till token is needed: --token or GOLDBEAN_POS_TOKEN",
            file=sys.stderr,
        )
        return USAGE
    try:
        client = PosClient(
            args.server, args.token, journal=journal, timeout=args.timeout, retries=args.retries
        )
    except ValueError as error:
        print(f"goldbean-pos: {error}", file=sys.stderr)
        return USAGE
    try:
        return COMMANDS[args.command](client, args)
    except PosError as error:
        return refused(error, args)
    except PosUnavailable as error:
        return unreachable(error, args)
    except OSError as error:  # the journal could not be written: nothing was sent
        print(f"goldbean-pos: cannot use the journal {journal.path}: {error}", file=sys.stderr)
        return USAGE


# --- commands ---------------------------------------------------------------------------


def redeem(client: PosClient, args: argparse.Namespace) -> int:
    pin = getpass.getpass("PIN: ") if args.pin == "-" else args.pin
    receipt = client.redeem(args.code, args.amount, pin=pin, note=args.note)
    if args.json:
        return emit(receipt)
    print(f"已收款 Paid: {receipt['amount']} beans — receipt {receipt['id']}")
    print(f"  付款人 Payer: {receipt['payer_id']}")
    print(f"  时间 Time: {local_time(receipt['at'])}")
    note_replay(client)
    return OK


def refund(client: PosClient, args: argparse.Namespace) -> int:
    answer = client.refund(args.redemption_id, args.amount)
    if args.json:
        return emit(answer)
    print(
        f"已退款 Refunded: {answer['amount']} beans — refund {answer['id']}"
        f" of receipt {answer['redemption_id']}"
    )
    note_replay(client)
    return OK


def today(client: PosClient, args: argparse.Namespace) -> int:
    day = client.today(args.date)
    if args.json:
        return emit(day)
    items = day["items"]
    title = "今日收款 Today's redemptions" if args.date is None else f"{args.date} 收款 Redemptions"
    print(
        f"{title}: {day['count']} — 合计 total {day['total']} beans, "
        f"已退 refunded {day['refunded']}"
    )
    for item in items:
        back = f"  (refunded {item['refunded']})" if item.get("refunded") else ""
        print(f"  {local_time(item['at'])}  {item['amount']:>6} beans  receipt {item['id']}{back}")
    return OK


def resume(client: PosClient, args: argparse.Namespace) -> int:
    try:
        settled = client.resume()
    except PosUnavailable as error:
        report_settled(error.settled, args)
        return unreachable(error, args)
    report_settled(settled, args)
    left = client.journal.pending() if client.journal else []
    if not args.json:
        if not settled and not left:
            print("没有待确认的请求 Nothing to resume.")
        elif left:
            print(f"仍待确认 Still pending: {len(left)} (sent with another token)")
    return REFUSED if any(entry.state == "failed" for entry in settled) else OK


def show_pending(journal: Journal, args: argparse.Namespace) -> int:
    entries = journal.entries() if args.all else journal.pending()
    if args.json:
        return emit([entry_json(entry) for entry in entries])
    if not entries:
        print("没有待确认的请求 Nothing pending.")
        return OK
    label = "日志 Journal" if args.all else "待确认 Pending"
    print(f"{label}: {len(entries)} request(s) in {journal.path}")
    for entry in entries:
        print(f"  {entry_line(entry)}")
    if any(entry.state == "pending" for entry in entries):
        print("网络恢复后请运行 When the server is back, run: goldbean-pos resume")
    return OK


COMMANDS = {"redeem": redeem, "refund": refund, "today": today, "resume": resume}


# --- output -----------------------------------------------------------------------------


def emit(value: Any) -> int:
    print(json.dumps(value, ensure_ascii=False, indent=2))
    return OK


def refused(error: PosError, args: argparse.Namespace) -> int:
    if args.json:
        problem = {"status": error.status, "code": error.code, "title": error.title}
        emit({"error": {**problem, "detail": error.detail}})
    else:
        print(f"被拒绝 Refused: {error.code} — {error.detail or error.title}", file=sys.stderr)
    return REFUSED


def unreachable(error: PosUnavailable, args: argparse.Namespace) -> int:
    if args.json:
        emit({"error": {"code": "unreachable", "detail": str(error), "pending_key": error.key}})
        return UNREACHABLE
    print(f"无法连接服务器 Server unreachable: {error}", file=sys.stderr)
    if error.key:
        print(
            f"该请求已记入日志 The request is kept in the journal as pending (key {error.key});"
            " it may or may not have reached the server.",
            file=sys.stderr,
        )
    print("网络恢复后请运行 When the network is back, run: goldbean-pos resume", file=sys.stderr)
    return UNREACHABLE


def note_replay(client: PosClient) -> None:
    answer = client.last_answer
    if answer is not None and answer.replayed:
        print("  (重发确认 confirmed on retry: the server had already done this, once)")


def report_settled(settled: list[Entry], args: argparse.Namespace) -> None:
    if args.json:
        emit([entry_json(entry) for entry in settled])
        return
    for entry in settled:
        if entry.state == "done":
            print(f"已完成 Done: {entry_line(entry)}")
        else:
            error = PosError.from_answer(entry.status or 0, entry.response)
            print(f"被拒绝 Refused: {entry_line(entry)} — {error.code}: {error.detail}")


def entry_json(entry: Entry) -> dict[str, Any]:
    """An entry for machine output, without the customer's code or PIN."""
    fields = {"key": entry.key, "at": entry.at, "method": entry.method, "path": entry.path}
    return {**fields, "request": safe_body(entry), "state": entry.state, "status": entry.status}


def entry_line(entry: Entry) -> str:
    body = safe_body(entry)
    what = " ".join(f"{name} {value}" for name, value in body.items())
    status = f" → {entry.status}" if entry.status is not None else ""
    answer = entry.response if isinstance(entry.response, dict) else {}
    if entry.state == "done" and answer.get("id"):
        status += f" receipt {answer['id']}"
    elif entry.state == "failed" and answer.get("code"):
        status += f" {answer['code']}"
    request = f"{entry.method} {entry.path}  {what}{status}"
    return f"{entry.at}  {entry.state:<7} {request}  key {entry.key}"


def safe_body(entry: Entry) -> dict[str, Any]:
    """The request's values worth showing: the amount and note, never the code or PIN."""
    try:
        body = json.loads(entry.body)
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {name: body[name] for name in ("amount", "note") if body.get(name) is not None}


def local_time(at: str) -> str:
    """A receipt's moment in this machine's zone: 2026年12月8日 14:05 (docs/GLOSSARY.md)."""
    return moment_text(at)


# --- arguments --------------------------------------------------------------------------


def positive_beans(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of beans above 0")
    return int(text)


def calendar_day(text: str) -> str:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD")


def build_parser() -> argparse.ArgumentParser:
    env = os.environ
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine output"
    )
    parser = argparse.ArgumentParser(
        prog="goldbean-pos",
        description="Goldbean (金豆) till: redeem, refund, today's totals, resume.",
        epilog="exit codes: 0 done, 1 refused, 2 usage, 3 server unreachable (run resume)",
    )
    parser.add_argument(
        "--server",
        default=env.get("GOLDBEAN_POS_SERVER") or DEFAULT_SERVER,
        help="the Goldbean server (GOLDBEAN_POS_SERVER; default %(default)s)",
    )
    parser.add_argument(
        "--token",
        default=env.get("GOLDBEAN_POS_TOKEN"),
        help="the till's token (GOLDBEAN_POS_TOKEN; required)",
    )
    parser.add_argument(
        "--journal",
        default=env.get("GOLDBEAN_POS_JOURNAL"),
        help="the journal file (GOLDBEAN_POS_JOURNAL; default "
        "$XDG_STATE_HOME/goldbean-pos/journal.jsonl)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt")
    parser.add_argument("--retries", type=int, default=3, help="attempts after the first")
    parser.add_argument("--json", action="store_true", help="machine output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    spend = commands.add_parser("redeem", parents=[common], help="take beans for a sale")
    spend.add_argument("code", help="the customer's payment code or card code")
    spend.add_argument("amount", type=positive_beans, help="beans")
    spend.add_argument("--pin", help="the card's PIN ('-' asks for it)")
    spend.add_argument("--note", help="what was sold (up to 200 characters)")

    give_back = commands.add_parser("refund", parents=[common], help="give beans back")
    give_back.add_argument("redemption_id", help="the receipt of the sale")
    give_back.add_argument("amount", type=positive_beans, help="beans")

    day = commands.add_parser("today", parents=[common], help="the day's redemptions and total")
    day.add_argument("--date", type=calendar_day, help="YYYY-MM-DD (default today)")

    waiting = commands.add_parser("pending", parents=[common], help="requests with no answer yet")
    waiting.add_argument("--all", action="store_true", help="every journal entry, with its state")

    commands.add_parser("resume", parents=[common], help="send the pending requests again")
    return parser


if __name__ == "__main__":
    sys.exit(main())
