"""``goldbean people import`` and ``goldbean people export`` (issue 18) on SQLite and
PostgreSQL: one line per rejected row, nothing imported from a file with rejected rows
unless --valid-rows-only, --dry-run changes nothing, a second import changes nothing,
and the exported roster imports back unchanged."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from ledger.persistence import open_ledger
from tests.integration.test_cli import run

ROSTER = (
    "姓名,类型,手机,楼栋,网格,队伍,监护人,监护人电话\n"
    "张伟,志愿者,13800138000,3栋,第一网格,安全小红帽、巾帼志愿队,,\n"
    "李奶奶,受助居民,,5栋,第二网格,,李明,13900000001\n"
    "王五,居民,12345,1栋,,,,\n"
)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request) -> str:
    found = str(request.getfixturevalue(f"{request.param}_url"))
    assert run("db", "init", "--database-url", found).code == 0
    return found


def people(url: str) -> list[tuple[str, str]]:
    ledger = open_ledger(url, create_tables=False)
    try:
        head = ledger.log_head()
        opened = [e for e in ledger.read_log(0, head + 1) if e.topic.endswith(".Opened")]
        entries = ledger.get_member_entries(e.originator_id for e in opened)
        return sorted((v.display_name, v.record.phone) for v in entries.values())
    finally:
        ledger.close()


def test_a_roster_is_imported_once_and_its_bad_rows_are_named_by_line(url, tmp_path):
    roster = tmp_path / "名单.csv"
    roster.write_bytes(ROSTER.encode("gbk"))

    refused = run("people", "import", str(roster), "--database-url", url)
    assert refused.code == 1
    assert f"{roster}:4: 类型: Write 志愿者 or 受助居民." in refused.out
    assert f"{roster}:4: 手机: Not a phone number" in refused.out
    assert "Nothing was imported" in refused.out and people(url) == []

    dry = run(
        "people", "import", str(roster), "--dry-run", "--valid-rows-only", "--database-url", url
    )
    assert "2 new" in dry.out and "--dry-run" in dry.out and people(url) == []

    done = run("people", "import", str(roster), "--valid-rows-only", "--database-url", url)
    assert done.code == 1  # not every row was imported
    assert "2 members registered" in done.out and "1 rows rejected" in done.out
    assert people(url) == [("张伟", "13800138000"), ("李奶奶", "")]

    again = run("people", "import", str(roster), "--valid-rows-only", "--database-url", url)
    assert "0 members registered, 0 updated, 2 unchanged" in again.out
    assert len(people(url)) == 2


def test_the_exported_roster_imports_back_unchanged(url, tmp_path):
    roster = tmp_path / "名单.csv"
    roster.write_bytes(("\ufeff" + "\n".join(ROSTER.splitlines()[:3]) + "\n").encode())
    assert run("people", "import", str(roster), "--database-url", url).code == 0
    exported = tmp_path / "roster.xlsx"
    written = run("people", "export", str(exported), "--database-url", url)
    assert written.code == 0 and "Wrote 2 members" in written.out
    rows = list(load_workbook(io.BytesIO(exported.read_bytes())).worksheets[0].values)
    assert rows[0][:8] == ("姓名", "类型", "手机", "楼栋", "网格", "队伍", "监护人", "监护人电话")
    assert sorted(r[0] for r in rows[1:]) == ["张伟", "李奶奶"]
    back = run("people", "import", str(exported), "--database-url", url)
    assert back.code == 0 and "0 members registered, 0 updated, 2 unchanged" in back.out


def test_a_file_that_is_no_roster_is_one_line_of_error(url, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes("手机\n13800138000\n".encode())
    answer = run("people", "import", str(bad), "--database-url", url)
    assert answer.code == 1
    assert (
        answer.err.strip()
        == f"goldbean: error: {bad}: The column 姓名 is missing: start from the template."
    )
