"""The roster pages (issue 18): the template to download, a file uploaded, previewed line
by line and imported (the valid lines only when chosen), a second import changing
nothing, the roster as a workbook; the member's record on their page, with each field's
problem beside it, seen by coordinators and admins only."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.api.test_web_coordinator import hidden_fields, page_text, signed_in
from tests.api.test_web_pages import csrf_token

HEADER = "姓名,类型,手机,楼栋,网格,队伍,监护人,监护人电话"
ROSTER = (
    HEADER
    + "\n张伟,志愿者,13800138000,3栋,第一网格,安全小红帽、巾帼志愿队,,"
    + "\n李奶奶,受助居民,,5栋,第二网格,,李明,13900000001"
    + "\n王五,居民,13700000002,1栋,,,,"
    + "\n"
)


@pytest.fixture(params=["memory", "sqlite"])
def database_url(request):
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("sqlite_url"))


@pytest.fixture
def auth(app):
    return app.extensions["goldbean.auth"]


@pytest.fixture
def ledger(app):
    return app.extensions["goldbean.ledger"]


@pytest.fixture
def coordinator(app, auth):
    return signed_in(app, auth, "coord", "coordinator")


def upload(client, data: bytes, name: str = "名单.csv"):
    token = csrf_token(client.get("/staff/members/import").get_data(as_text=True))
    return client.post(
        "/staff/members/import",
        data={"csrf_token": token, "step": "preview", "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm(client, preview, **extra):
    fields = hidden_fields(preview.get_data(as_text=True), "import-confirm")
    return client.post("/staff/members/import", data={**fields, **extra})


def count(preview, action: str) -> int:
    found = re.search(rf'id="count-{action}">(\d+)<', preview.get_data(as_text=True))
    assert found, action
    return int(found.group(1))


def members(ledger, app):
    from api import roster
    from api.context import reading

    with app.test_request_context("/"):
        return roster.directory(ledger, reading)


def test_the_page_offers_the_template_with_chinese_headers(coordinator):
    page = page_text(coordinator.get("/staff/members/import"))
    assert "下载模板" in page and 'href="/staff/members/template.xlsx"' in page
    answer = coordinator.get("/staff/members/template.xlsx")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(answer.data)).worksheets[0]
    assert [c.value for c in sheet[1]][:8] == HEADER.split(",")


def test_upload_preview_and_import_the_valid_lines_then_again_nothing_changes(
    app, coordinator, ledger
):
    preview = upload(coordinator, ROSTER.encode("gbk"))
    assert preview.status_code == 200
    text = page_text(preview)
    assert "第 4 行 (王五) · 类型" in text  # the line, the name and the column of the problem
    assert (count(preview, "create"), count(preview, "error")) == (2, 1)
    assert "GBK" in text

    # a file with a bad line is not imported unless the valid lines are chosen
    refused = confirm(coordinator, preview)
    assert refused.status_code == 422 and "没有导入" in page_text(refused)
    assert members(ledger, app) == []

    done = confirm(coordinator, preview, valid_rows_only="yes")
    assert done.status_code == 303
    shown = page_text(coordinator.get(done.location))
    assert "新登记 2 人" in shown and "1 行有问题，没有导入" in shown
    assert sorted(m.display_name for m in members(ledger, app)) == ["张伟", "李奶奶"]
    # the members list shows the record to a coordinator, and finds by phone and team
    found = page_text(coordinator.get("/staff/members?q=8000"))
    assert "张伟" in found and "13800138000" in found and "李奶奶" not in found
    in_team = page_text(coordinator.get("/staff/members?team=巾帼志愿队"))
    assert "张伟" in in_team and "李奶奶" not in in_team

    head = ledger.log_head()
    again = upload(coordinator, ROSTER.encode("gbk"))
    assert (count(again, "create"), count(again, "unchanged")) == (0, 2)
    assert confirm(coordinator, again, valid_rows_only="yes").status_code == 303
    assert "没有变化" in page_text(coordinator.get("/staff/members"))
    assert ledger.log_head() == head and len(members(ledger, app)) == 2


def test_a_workbook_and_a_utf8_file_with_a_bom_import_alike(app, coordinator, ledger):
    good = "\n".join(ROSTER.splitlines()[:3]) + "\n"
    preview = upload(coordinator, b"\xef\xbb\xbf" + good.encode(), "名单.csv")
    assert count(preview, "create") == 2 and count(preview, "error") == 0
    assert confirm(coordinator, preview).status_code == 303
    exported = coordinator.get("/staff/members/roster.xlsx")
    assert exported.status_code == 200
    rows = list(load_workbook(io.BytesIO(exported.data)).worksheets[0].values)
    assert rows[0][:3] == ("姓名", "类型", "手机") and len(rows) == 3
    again = upload(coordinator, exported.data, "roster.xlsx")
    assert count(again, "unchanged") == 2 and count(again, "create") == 0


def test_a_file_that_is_no_roster_is_explained(coordinator):
    answer = upload(coordinator, "手机,楼栋\n13800138000,3栋\n".encode())
    assert answer.status_code == 303
    assert "缺少“姓名”列" in page_text(coordinator.get(answer.location))


def test_the_member_record_is_edited_with_errors_beside_the_fields(app, auth, coordinator, ledger):
    opened = ledger.open_volunteer("赵六")
    page = f"/staff/members/{opened.id}"
    fields = hidden_fields(coordinator.get(page).get_data(as_text=True), "record-form")
    typed = {
        "phone": "12345",
        "building": "8栋",
        "grid": "第一网格",
        "teams": "安全小红帽，邻家妈妈",
        "guardian": "",
        "guardian_phone": "",
        "note": "周末有空",
    }
    refused = coordinator.post(f"{page}/record", data={**fields, **typed})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="record-phone-error"' in html and 'aria-invalid="true"' in html
    assert 'value="12345"' in html and 'value="8栋"' in html  # what was typed is kept
    assert ledger.get_member_record(opened.id).building == ""

    saved = coordinator.post(f"{page}/record", data={**fields, **typed, "phone": "13812345678"})
    assert saved.status_code == 303
    record = ledger.get_member_record(opened.id)
    assert (record.phone, record.teams) == ("13812345678", ("安全小红帽", "邻家妈妈"))
    assert 'value="13812345678"' in coordinator.get(page).get_data(as_text=True)

    # a fund officer sees the member, not their record
    officer = signed_in(app, auth, "officer", "fund_officer")
    seen = officer.get(page).get_data(as_text=True)
    assert "赵六" in seen and "13812345678" not in seen and "record-form" not in seen
    assert "13812345678" not in officer.get("/staff/members").get_data(as_text=True)


def test_a_roster_of_a_thousand_lines_is_taken_though_other_forms_are_small(coordinator):
    lines = [HEADER] + [
        f"成员{n},志愿者,138{n:08d},{n % 40}栋,第{n % 8}网格,巾帼志愿队,," for n in range(1500)
    ]
    data = ("\n".join(lines) + "\n").encode("gbk")
    assert len(data) > 64 * 1024  # more than any other form may send
    preview = upload(coordinator, data)
    assert preview.status_code == 200 and count(preview, "create") == 1500
    too_big = coordinator.post("/staff/members", data={"display_name": "x" * 70_000})
    assert too_big.status_code == 413
