"""A coordinator registers a community's roster from a spreadsheet (issue 18), in a real
browser on a desktop: downloads the template, fills it in as a CSV with one bad line,
uploads it, reads the line's problem, imports the valid lines, then imports the same file
again and is told nothing changed. axe-core checks each new page."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.browser import DESKTOP, flash_ok, nav_to, sign_in


def test_a_coordinator_imports_a_roster_once(site, open_as, axe, tmp_path):
    coordinator = open_as(DESKTOP)
    sign_in(coordinator, site, "coordinator")
    nav_to(coordinator, "成员", "成员", axe)
    coordinator.get_by_role("link", name="导入名单（XLSX 或 CSV）").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("导入名单")
    axe.check(coordinator)

    # The template: its headers are the columns to fill in.
    with coordinator.expect_download() as download:
        coordinator.get_by_role("link", name="下载模板（XLSX）").click()
    template = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    headers = [cell.value for cell in template.worksheets[0][1]]
    assert headers[:8] == ["姓名", "类型", "手机", "楼栋", "网格", "队伍", "监护人", "监护人电话"]

    lines = [
        ",".join(headers),
        "陈红,志愿者,13811112222,3栋,第一网格,安全小红帽、巾帼志愿队,,,",
        "周奶奶,受助居民,,5栋,第二网格,,周明,13933334444,",
        "吴刚,志愿者,12345,8栋,,,,,",  # not a phone number
    ]
    roster = tmp_path / "名单.csv"
    roster.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))

    def check_file() -> None:
        coordinator.get_by_label("名单文件（XLSX，或 UTF-8 / GBK 编码的 CSV）").set_input_files(
            str(roster)
        )
        coordinator.get_by_role("button", name="检查文件").click()
        expect(coordinator.get_by_role("heading", name="导入后会怎样")).to_be_visible()

    check_file()
    problem = coordinator.locator('#import-problems li[data-line="4"]')
    expect(problem).to_have_text(
        "第 4 行 (吴刚) · 手机: 不是有效的电话号码：手机号 11 位，座机请带区号。"
    )
    expect(coordinator.locator("#count-create")).to_have_text("2")
    expect(coordinator.locator("#count-error")).to_have_text("1")
    axe.check(coordinator)

    # Import without choosing: nothing is imported.
    coordinator.get_by_role("button", name="导入", exact=True).click()
    expect(coordinator.locator(".flash.error")).to_contain_text("没有导入")
    coordinator.get_by_label("导入没有问题的 2 行").check()
    coordinator.get_by_role("button", name="导入", exact=True).click()
    expect(flash_ok(coordinator)).to_have_text("导入完成：新登记 2 人，更新 0 人，0 人没有变化。")
    expect(coordinator.locator("#member-list")).to_contain_text("陈红")
    expect(coordinator.locator("#member-list")).to_contain_text("13811112222")
    axe.check(coordinator)

    # The same file again: every member is recognised, nothing changes.
    coordinator.get_by_role("link", name="导入名单（XLSX 或 CSV）").click()
    check_file()
    expect(coordinator.locator("#count-create")).to_have_text("0")
    expect(coordinator.locator("#count-unchanged")).to_have_text("2")
    coordinator.get_by_label("导入没有问题的 2 行").check()
    coordinator.get_by_role("button", name="导入", exact=True).click()
    expect(flash_ok(coordinator)).to_have_text("没有变化：文件里的人都已登记。")
    assert coordinator.locator("#member-list tbody tr").count() == 3  # and 李伟 from before

    # The imported record on the member's page, where it can be corrected.
    coordinator.get_by_role("link", name="周奶奶").click()
    expect(coordinator.get_by_role("heading", level=1)).to_have_text("周奶奶")
    record = coordinator.locator("#record-form")
    expect(record.get_by_label("楼栋")).to_have_value("5栋")
    guardian = record.get_by_role("group", name="监护人或联系人")
    expect(guardian.get_by_label("姓名")).to_have_value("周明")
    expect(guardian.get_by_label("手机")).to_have_value("13933334444")
    axe.check(coordinator)
    axe.assert_clean()
