"""Reading and planning a roster (issue 18): CSV in UTF-8 with or without a byte-order
mark and in GBK, XLSX, each bad row reported by its line, duplicates within a file, and
a second import of the same file changing nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from openpyxl import Workbook, load_workbook

from api import roster
from api.context import make_runner
from api.roster_files import RosterFileError, read_roster, template_xlsx
from api.store import Store
from ledger.people import check_record, normal_phone
from ledger.persistence import open_ledger
from ledger.views import Actor

HEADER = "姓名,类型,手机,楼栋,网格,队伍,监护人,监护人电话"
GOOD = [
    "张伟,志愿者,138 0013 8000,3栋,第一网格,安全小红帽、巾帼志愿队,,",
    "李奶奶,受助居民,,5栋,第二网格,,李明,13900000001",
    '王芳,志愿者,13700000002,,,"邻家妈妈,巾帼志愿队",,',
]


def csv_text(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "read_as"),
    [
        (csv_text(*GOOD).encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + csv_text(*GOOD).encode("utf-8"), "utf-8-sig"),
        (csv_text(*GOOD).encode("gbk"), "gbk"),
        (csv_text(*GOOD).replace("\n", "\r\n").encode("gbk"), "gbk"),
        (xlsx([HEADER.split(","), *[line.split(",", 7) for line in GOOD[:2]]]), "xlsx"),
    ],
    ids=["utf-8", "utf-8 with BOM", "gbk", "gbk with CRLF", "xlsx"],
)
def test_a_roster_reads_alike_in_every_encoding_and_as_a_workbook(data, read_as):
    rows, found = read_roster(data)
    assert found == read_as
    first = rows[0]
    assert first.line == 2
    assert first.cells["display_name"] == "张伟"
    assert first.cells["teams"] == "安全小红帽、巾帼志愿队"
    planned = roster.check_row(first)
    assert planned.kind == "volunteer" and planned.record.phone == "13800138000"
    assert planned.record.teams == ("安全小红帽", "巾帼志愿队")
    elder = roster.check_row(rows[1])
    assert elder.kind == "beneficiary" and elder.record.guardian == "李明"
    if read_as != "xlsx":
        # teams separated by a comma inside a quoted cell
        assert roster.check_row(rows[2]).record.teams == ("邻家妈妈", "巾帼志愿队")


def test_a_phone_typed_as_a_number_in_a_workbook_keeps_its_digits():
    rows, _ = read_roster(xlsx([["姓名", "类型", "手机"], ["赵六", "志愿者", 13800138000]]))
    assert roster.check_row(rows[0]).record.phone == "13800138000"


def test_columns_may_come_in_any_order_and_empty_lines_are_skipped():
    text = "类型,备注,姓名,楼栋\n\n志愿者,爱心人士,孙七,2栋\n,,,\n"
    rows, _ = read_roster(text.encode("utf-8"))
    assert [(r.line, r.cells["display_name"], r.cells["note"]) for r in rows] == [
        (3, "孙七", "爱心人士")
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        ("手机,楼栋\n13800138000,3栋\n".encode(), "headers"),
        (b"\xff\xfe\x00\x00binary", "unreadable"),
        (b"PK\x03\x04not a workbook", "unreadable"),
    ],
)
def test_a_file_that_is_no_roster_is_refused_whole(data, reason):
    with pytest.raises(RosterFileError) as refused:
        read_roster(data)
    assert refused.value.reason == reason


def test_each_bad_row_is_reported_by_its_line_and_column():
    text = csv_text(
        GOOD[0],
        ",志愿者,13800000001,1栋,,,,",  # no name
        "钱八,居民,13800000002,1栋,,,,",  # an unknown kind
        "周九,志愿者,12345,1栋,,,,",  # not a phone
        "吴十,志愿者,,,,,,",  # neither a phone nor a building to recognise them by
        "郑一,受助居民,,1栋,,,郑二,555",  # a guardian's phone that is not one
        "冯二,志愿者,13800000003,1栋,,\u200b队伍,,",  # an invisible character
    )
    rows, _ = read_roster(text.encode())
    found = {
        row.line: [(p.column, p.word) for p in row.problems]
        for row in map(roster.check_row, rows)
        if row.problems
    }
    assert found == {
        3: [("display_name", "name_missing")],
        4: [("kind", "kind")],
        5: [("phone", "phone")],
        6: [(None, "no_key")],
        7: [("guardian_phone", "phone")],
        8: [("teams", "invisible")],
    }


def test_phones_are_kept_as_digits_and_checked():
    assert normal_phone("+86 138-0013-8000") == "13800138000"
    assert normal_phone("0571-8888 6666") == "057188886666"
    assert normal_phone("１３８００１３８０００") == "13800138000"  # full-width digits
    assert normal_phone("12345678901") is None
    record, problems = check_record({"teams": "、".join(f"队{i}" for i in range(11))})
    assert problems == {"teams": "too_many_teams"}


# --- planning against the members already registered ----------------------------------------


@pytest.fixture
def world() -> Iterator[tuple[object, roster.Reader]]:
    ledger = open_ledger("memory://")
    store = Store("memory://")
    store.create_tables()
    runner = make_runner(store, ledger)

    @contextmanager
    def read():
        runner.catch_up()
        with store.read() as conn:
            yield conn

    yield ledger, read
    store.close()
    ledger.close()


def actions(plan: roster.Plan) -> dict[int, str]:
    return {row.line: row.action for row in plan.rows}


def test_duplicates_within_a_file_are_refused_on_the_later_line(world):
    ledger, read = world
    text = csv_text(
        GOOD[0],
        "张伟,志愿者,13800138000,9栋,,,,",  # the same phone
        GOOD[1],
        "李奶奶,受助居民,,5栋,,,,",  # the same name and building, no phone
    )
    plan = roster.plan_import(text.encode("gbk"), ledger, read)
    assert actions(plan) == {2: "create", 3: "error", 4: "create", 5: "error"}
    assert [p.text() for p in plan.rows[1].problems] == ["The same phone as line 2."]
    assert [p.text() for p in plan.rows[3].problems] == ["The same name and building as line 4."]


def test_importing_the_same_file_twice_changes_nothing(world):
    ledger, read = world
    data = csv_text(*GOOD).encode("gbk")
    first = roster.plan_import(data, ledger, read)
    assert first.counts == {"create": 3, "update": 0, "unchanged": 0, "error": 0}
    done = roster.apply_import(first, ledger)
    assert (done.created, done.updated, done.unchanged) == (3, 0, 0)
    members = roster.directory(ledger, read)
    assert sorted((m.display_name, m.kind, m.balance) for m in members) == [
        ("张伟", "volunteer", 0),
        ("李奶奶", "beneficiary", 0),
        ("王芳", "volunteer", 0),
    ]
    head = ledger.log_head()
    again = roster.plan_import(data, ledger, read)
    assert again.counts == {"create": 0, "update": 0, "unchanged": 3, "error": 0}
    roster.apply_import(again, ledger)
    assert ledger.log_head() == head
    assert len(roster.directory(ledger, read)) == 3


def test_a_later_file_updates_records_and_keeps_what_a_cell_leaves_empty(world):
    ledger, read = world
    roster.apply_import(roster.plan_import(csv_text(*GOOD).encode(), ledger, read), ledger)
    later = csv_text(
        "张伟,志愿者,13800138000,,第三网格,,,",  # matched by phone: the grid changes
        "李奶奶,受助居民,13900000009,5栋,,,,",  # matched by name + building: a phone added
        "张伟,受助居民,13600000000,3栋,,,,",  # another 张伟 in 3栋 with another phone: new
        "王芳,受助居民,13700000002,,,,,",  # the phone of a volunteer, as a beneficiary
    )
    plan = roster.plan_import(later.encode(), ledger, read)
    assert actions(plan) == {2: "update", 3: "update", 4: "create", 5: "error"}
    assert [p.text() for p in plan.rows[3].problems] == [
        "This person is registered as a volunteer."
    ]
    other = roster.plan_import(csv_text("王小芳,志愿者,13700000002,,,,,").encode(), ledger, read)
    assert [p.text() for p in other.rows[0].problems] == ["This phone is registered to 王芳."]
    roster.apply_import(plan, ledger)
    by_name = {(m.display_name, m.record.phone): m for m in roster.directory(ledger, read)}
    zhang = by_name[("张伟", "13800138000")].record
    assert (zhang.grid, zhang.building, zhang.teams) == (
        "第三网格",
        "3栋",
        ("安全小红帽", "巾帼志愿队"),
    )
    assert by_name[("李奶奶", "13900000009")].record.guardian == "李明"


def test_a_person_erased_on_request_is_not_imported_again(world):
    ledger, read = world
    data = csv_text(GOOD[0]).encode()
    roster.apply_import(roster.plan_import(data, ledger, read), ledger)
    (zhang,) = roster.directory(ledger, read)
    ledger.request_erasure(zhang.id, Actor("one"))
    ledger.approve_erasure(zhang.id, Actor("two"))
    plan = roster.plan_import(data, ledger, read)
    assert [p.word for p in plan.rows[0].problems] == ["erased"]
    assert ledger.get_member_record(zhang.id).phone == ""


def test_the_template_has_the_chinese_headers_and_the_export_reads_back(world):
    sheet = load_workbook(io.BytesIO(template_xlsx())).worksheets[0]
    assert [c.value for c in sheet[1]] == [
        "姓名",
        "类型",
        "手机",
        "楼栋",
        "网格",
        "队伍",
        "监护人",
        "监护人电话",
        "备注",
    ]
    assert all(c.value is None for row in sheet.iter_rows(min_row=2) for c in row)  # no example
    ledger, read = world
    roster.apply_import(roster.plan_import(csv_text(*GOOD).encode(), ledger, read), ledger)
    exported = roster.export_xlsx(roster.directory(ledger, read))
    again = roster.plan_import(exported, ledger, read)
    assert again.counts["unchanged"] == 3 and again.read_as == "xlsx"
