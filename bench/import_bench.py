#!/usr/bin/env python
"""Importing a community's roster: 800 members from a GBK CSV and from the same roster as
XLSX, each into a fresh SQLite and a fresh PostgreSQL database.

    python bench/import_bench.py              # 800 members
    python bench/import_bench.py --members 2000 --no-doc

Each import is what an operator runs, ``goldbean people import FILE`` (open the ledger,
read and check every row, match it against the members already registered, open the new
accounts in batches, catch the read tables up), timed from the command's start to its
end. The same file is then imported a second time (timed too), and the member count must
be unchanged. The aim is under 10 s for each first import. PostgreSQL is
``$GOLDBEAN_BENCH_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test), in a
fresh schema dropped afterwards.

It prints a table and (re)writes the section between ``<!-- import_bench:start -->`` and
``<!-- import_bench:end -->`` in docs/PERFORMANCE.md (the rest of the file is left alone).
Not a test: it measures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402

from api import roster  # noqa: E402
from api.cli import main as goldbean  # noqa: E402
from api.context import make_runner  # noqa: E402
from api.roster_files import roster_headers  # noqa: E402
from api.store import Store  # noqa: E402
from ledger.persistence import open_ledger  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DOC = ROOT / "docs" / "PERFORMANCE.md"
START, END = "<!-- import_bench:start -->", "<!-- import_bench:end -->"
AIM_SECONDS = 10.0

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美平刚桂兰玉萍红霞建国志宏亮斌文博"
TEAMS = ("安全小红帽", "巾帼志愿队", "邻家妈妈", "银龄互助队", "文明劝导队", "环境守护队")
GRIDS = tuple(f"第{n}网格" for n in "一二三四五六七八")


def roster_rows(members: int, seed: int = 2026) -> list[list[str]]:
    """A community's roster: volunteers in teams, elders with a guardian, most with a
    phone (those without are told apart by name and building)."""
    pick = random.Random(seed)
    phones = pick.sample(range(10**8), members)
    rows, seen = [], set()
    for n in range(members):
        elder = n % 8 == 0
        while True:
            name = pick.choice(SURNAMES) + "".join(pick.choices(GIVEN, k=pick.choice((1, 2))))
            building = f"{pick.randint(1, 40)}栋"
            if (name, building) not in seen:
                break
        seen.add((name, building))
        phone = "" if elder and n % 3 else f"13{pick.randint(0, 9)}{phones[n]:08d}"
        teams = "" if elder else "、".join(pick.sample(TEAMS, pick.choice((1, 1, 2))))
        rows.append(
            [
                name,
                "受助居民" if elder else "志愿者",
                phone,
                building,
                pick.choice(GRIDS),
                teams,
                (pick.choice(SURNAMES) + pick.choice(GIVEN)) if elder else "",
                f"139{pick.randint(0, 10**8 - 1):08d}" if elder else "",
                "",
            ]
        )
    return rows


def as_gbk_csv(rows: list[list[str]]) -> bytes:
    lines = [",".join(roster_headers()), *(",".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def as_xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(roster_headers())
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass
class Result:
    store: str
    file: str
    members: int
    first_s: float
    second_s: float
    count_after_first: int
    count_after_second: int
    first_output: str
    second_output: str

    @property
    def ok(self) -> bool:
        return self.count_after_first == self.members == self.count_after_second


def member_count(url: str) -> int:
    ledger = open_ledger(url, create_tables=False)
    store = Store(url)
    try:
        runner = make_runner(store, ledger)

        @contextlib.contextmanager
        def read():
            runner.catch_up()
            with store.read() as conn:
                yield conn

        return sum(1 for m in roster.directory(ledger, read) if m.number)
    finally:
        store.close()
        ledger.close()


def run_import(url: str, path: Path) -> tuple[float, str]:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = goldbean(["people", "import", str(path), "--database-url", url])
    took = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"import of {path} into {url} failed ({code}): {out.getvalue()}")
    return took, out.getvalue().strip().replace(str(path), path.name)


def bench_one(store: str, url: str, name: str, path: Path, members: int) -> Result:
    with contextlib.redirect_stdout(io.StringIO()):
        if goldbean(["db", "init", "--database-url", url]) != 0:
            raise SystemExit(f"goldbean db init failed for {store}")
    first, first_out = run_import(url, path)
    after_first = member_count(url)
    second, second_out = run_import(url, path)
    after_second = member_count(url)
    return Result(
        store, name, members, first, second, after_first, after_second, first_out, second_out
    )


@contextlib.contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    schema = f"bench_{secrets.token_hex(4)}"
    admin = urlunsplit(urlsplit(url)._replace(query=""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    parts = urlsplit(url)
    query = "&".join(q for q in [parts.query, f"schema={schema}"] if q)
    try:
        yield urlunsplit(parts._replace(query=query))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '15s'")
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def section(results: list[Result], members: int) -> str:
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## Roster import: {members:,} members from a GBK CSV and from XLSX ({at})",
        "",
        "`python bench/import_bench.py`: `goldbean people import FILE` timed from the "
        "command's start to its end (read and check every row, match it with the members "
        "registered, open the accounts 200 to a transaction, catch the read tables up), "
        "into a fresh database each time; then the same file again. Aim: under "
        f"{AIM_SECONDS:.0f} s for each first import. The machine: "
        f"{os.cpu_count()} cores, shared with other work while it ran.",
        "",
        "| database | file | first import | second import | members after each |",
        "|---|---|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.store} | {r.file} | {r.first_s:.2f} s | {r.second_s:.2f} s | "
            f"{r.count_after_first:,} → {r.count_after_second:,} |"
        )
    met = all(r.first_s < AIM_SECONDS and r.ok for r in results)
    lines += [
        "",
        f"Aim {'met' if met else '**not met**'}: every first import under {AIM_SECONDS:.0f} s"
        " and the member count unchanged by the second import"
        f"{'' if all(r.ok for r in results) else ' (**a count changed**)'}.",
        f"The second import's report: “{results[0].second_output}”" if results else "",
    ]
    return "\n".join(lines) + "\n"


def write_doc(text: str) -> None:
    """Replace this benchmark's section of docs/PERFORMANCE.md, or append it."""
    block = f"{START}\n{text}{END}\n"
    doc = DOC.read_text() if DOC.exists() else "# Performance\n"
    if START in doc and END in doc:
        before, rest = doc.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        doc = before + block + ("\n" + after if after else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + block
    DOC.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=800, help="members in the roster (800)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    for name in [n for n in os.environ if n.startswith("GOLDBEAN_") and "BENCH" not in n]:
        del os.environ[name]  # the command line's URL decides, nothing from the shell
    rows = roster_rows(args.members)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="import_bench_") as tmp:
        files = {
            "GBK CSV": Path(tmp) / "roster-gbk.csv",
            "XLSX": Path(tmp) / "roster.xlsx",
        }
        files["GBK CSV"].write_bytes(as_gbk_csv(rows))
        files["XLSX"].write_bytes(as_xlsx(rows))
        for name, path in files.items():
            url = f"sqlite:///{Path(tmp) / (path.stem + '.sqlite3')}"
            results.append(bench_one("SQLite", url, name, path, args.members))
            print(
                f"SQLite     {name:8} {results[-1].first_s:6.2f} s, "
                f"again {results[-1].second_s:6.2f} s"
            )
        if not args.no_postgres:
            pg = os.environ.get("GOLDBEAN_BENCH_POSTGRES_URL", DEFAULT_PG_URL)
            for name, path in files.items():
                with postgres_schema(pg) as url:
                    results.append(bench_one("PostgreSQL", url, name, path, args.members))
                print(
                    f"PostgreSQL {name:8} {results[-1].first_s:6.2f} s, "
                    f"again {results[-1].second_s:6.2f} s"
                )
    text = section(results, args.members)
    print(text)
    if not args.no_doc:
        write_doc(text)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
