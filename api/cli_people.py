"""``goldbean people import FILE`` and ``goldbean people export FILE``: the roster
(api/roster.py) from the command line.

goldbean people import FILE [--valid-rows-only] [--dry-run]
    check every row of an XLSX or CSV roster (UTF-8 with or without a byte-order mark, or
    GBK) and print one line per rejected row; import it when no row is rejected (or, with
    --valid-rows-only, the rows that are fine). Exit 0 when every row is imported or
    already present, 1 when a row was rejected (and then, without --valid-rows-only,
    nothing is imported).
goldbean people export FILE
    the roster as an XLSX workbook in the template's columns
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from api import roster
from api.cli_support import CliError, database_errors, load_settings
from api.context import make_runner
from api.roster_files import RosterFileError
from api.store import Store
from ledger.application import Ledger
from ledger.persistence import open_ledger


def add_commands(people_commands: Any, common: argparse.ArgumentParser) -> None:
    imports = people_commands.add_parser(
        "import",
        parents=[common],
        help="register members from an XLSX or CSV roster (idempotent)",
        description="Check every row of a roster (headers 姓名, 类型, 手机, 楼栋, 网格, 队伍, "
        "监护人, 监护人电话) and import it: new members get an account (no beans, no card), "
        "known members (the same phone, or the same name and building) get their record "
        "updated. Importing the same file again changes nothing. A file with rejected rows "
        "is not imported unless --valid-rows-only is given.",
    )
    imports.add_argument("file", type=Path, help="the roster (.xlsx or .csv)")
    imports.add_argument(
        "--valid-rows-only", action="store_true", help="import the rows that are fine"
    )
    imports.add_argument(
        "--dry-run", action="store_true", help="check and report only; change nothing"
    )
    imports.set_defaults(handler=people_import)
    export = people_commands.add_parser(
        "export", parents=[common], help="write the roster as an XLSX workbook"
    )
    export.add_argument("file", type=Path, help="where to write the workbook")
    export.set_defaults(handler=people_export)


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[tuple[Ledger, roster.Reader]]:
    settings = load_settings(args, require_secret=False)
    url = settings.database_url
    if url.startswith("memory:"):
        raise CliError("memory:// keeps nothing between runs; give a SQLite or PostgreSQL URL")
    with database_errors(url):
        ledger = open_ledger(url, rules=settings.rules(), create_tables=False)
        store = Store(url)
        try:
            runner = make_runner(store, ledger)

            @contextmanager
            def read() -> Iterator[Connection]:
                runner.catch_up()
                with store.read() as conn:
                    yield conn

            yield ledger, read
        finally:
            store.close()
            ledger.close()


def people_import(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {args.file}: {error.strerror or error}") from error
    with _opened(args) as (ledger, read):
        try:
            plan = roster.plan_import(data, ledger, read)
        except RosterFileError as refused:
            raise CliError(
                f"{args.file}: {roster.file_problem_text(refused.reason, refused.missing)}"
            ) from None
        for row in plan.errors:
            for problem in row.problems:
                column = f" {problem.heading()}:" if problem.column else ""
                print(f"{args.file}:{row.line}:{column} {problem.text()}")
        counts = plan.counts
        summary = (
            f"{len(plan.rows)} rows ({plan.read_as}): {counts['create']} new, "
            f"{counts['update']} to update, {counts['unchanged']} unchanged, "
            f"{counts['error']} rejected"
        )
        if args.dry_run:
            print(f"{summary}. Nothing was imported (--dry-run).")
            return 1 if plan.errors else 0
        if plan.errors and not args.valid_rows_only:
            print(
                f"{summary}. Nothing was imported: correct the rows above, "
                "or import the others with --valid-rows-only."
            )
            return 1
        done = roster.apply_import(plan, ledger)
    print(
        f"Imported {args.file}: {done.created} members registered, {done.updated} updated, "
        f"{done.unchanged} unchanged"
        + (f", {done.skipped} rows rejected and left out." if done.skipped else ".")
    )
    return 1 if done.skipped else 0


def people_export(args: argparse.Namespace) -> int:
    with _opened(args) as (ledger, read):
        members = roster.directory(ledger, read)
        data = roster.export_xlsx(members)
    try:
        args.file.write_bytes(data)
    except OSError as error:
        raise CliError(f"cannot write {args.file}: {error.strerror or error}") from error
    print(f"Wrote {sum(1 for m in members if m.number)} members to {args.file}.")
    return 0
