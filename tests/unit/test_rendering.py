"""The fund report and merchant statement as CSV, HTML and PDF (api.rendering).

Pure functions: no app, no database. The PDFs are read back with pypdf, which decodes the
CID font's UniGB-UCS2-H text, so the Chinese really is in the page content.
"""

from __future__ import annotations

import copy
import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from pypdf import PdfReader

from api.charts import bean_flow_svg, fund_history_svg
from api.rendering import (
    fund_report_csv,
    fund_report_html,
    fund_report_pdf,
    statement_csv,
    statement_pdf,
    yuan,
)

CHAIN = "3f9a" * 16


def make_report() -> dict:
    """A closed month with donations, one payout and non-trivial figures."""
    return {
        "period": "2026-10",
        "final": True,
        "donations": {
            "count": 2,
            "total_fen": 150000,
            "items": [
                {
                    "received_on": "2026-10-03",
                    "donor": "匿名 / anonymous",
                    "amount_fen": 50000,
                    "receipt_no": "R-001",
                },
                {
                    "received_on": "2026-09-28",
                    "donor": "王芳",
                    "amount_fen": 100000,
                    "receipt_no": "R-002",
                },
            ],
        },
        "payouts": {
            "cash_fen": 19850,
            "rebate_fen": 993,
            "items": [
                {
                    "merchant": "社区便利店",
                    "beans": 120,
                    "cash_fen": 12000,
                    "rebate_fen": 600,
                    "paid_on": "2026-10-05",
                    "payment_ref": "T-1",
                },
                {
                    "merchant": "老李理发店",
                    "beans": 78,
                    "cash_fen": 7850,
                    "rebate_fen": 393,
                    "paid_on": "2026-10-06",
                    "payment_ref": "T-2",
                },
            ],
        },
        "beans": {
            "issued": {
                "incident_awards": 340,
                "activity_awards": 1210,
                "allotments": 500,
                "total": 2050,
            },
            "redeemed": 870,
            "refunded": 15,
            "gifted": 42,
            "retired": 198,
            "corrected": 3,
            "outstanding_end": 4321,
        },
        "fund": {
            "balance_start_fen": 400100,
            "balance_end_fen": 530250,
            "liability_end_fen": 432100,
            "coverage_end": "1.2500",
        },
        "activity": {
            "active_volunteers": 37,
            "incidents_verified": 12,
            "redemptions": 58,
            "merchants_paid": 2,
        },
        "chain_head": CHAIN,
    }


def make_open_report() -> dict:
    """An open month with nothing donated or paid, no liability and no chain head."""
    return {
        "period": "2026-11",
        "final": False,
        "donations": {"count": 0, "total_fen": 0, "items": []},
        "payouts": {"cash_fen": 0, "rebate_fen": 0, "items": []},
        "beans": {
            "issued": {"incident_awards": 0, "activity_awards": 0, "allotments": 0, "total": 0},
            "redeemed": 0,
            "refunded": 0,
            "gifted": 0,
            "retired": 0,
            "corrected": 0,
            "outstanding_end": 0,
        },
        "fund": {
            "balance_start_fen": 0,
            "balance_end_fen": 0,
            "liability_end_fen": 0,
            "coverage_end": None,
        },
        "activity": {
            "active_volunteers": 0,
            "incidents_verified": 0,
            "redemptions": 0,
            "merchants_paid": 0,
        },
        "chain_head": None,
    }


def make_history(months: int) -> list[dict]:
    """``months`` month-ends of 2026 with a growing balance and liability."""
    return [
        {
            "period": f"2026-{m:02d}",
            "balance_end_fen": 100000 * m + 37,
            "liability_end_fen": 80000 * m,
        }
        for m in range(1, months + 1)
    ]


STATEMENT = {
    "period": "2026-10",
    "redeemed": 870,
    "refunded": 15,
    "net": 855,
    "cash_fen": 85500,
    "rebate_fen": 4275,
    "settled": 855,
    "paid": True,
}


@pytest.fixture
def report() -> dict:
    return make_report()


@pytest.fixture
def open_report() -> dict:
    return make_open_report()


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# --------------------------------------------------------------------------------------------
# yuan()


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (100, "¥1.00"),
        (123456, "¥1,234.56"),
        (-250, "-¥2.50"),
        (-5, "-¥0.05"),
        (100000000, "¥1,000,000.00"),
        (10**20 + 1, "¥1,000,000,000,000,000,000.01"),  # exact: no float on the way
    ],
)
def test_yuan(fen, text):
    assert yuan(fen) == text


# --------------------------------------------------------------------------------------------
# Fund report CSV

EXPECTED_ROWS = [
    ["report", "", "period", "2026-10"],
    ["report", "", "final", "true"],
    ["donations", "", "count", "2"],
    ["donations", "", "total_fen", "150000"],
    ["donations", "1", "received_on", "2026-10-03"],
    ["donations", "1", "donor", "匿名 / anonymous"],
    ["donations", "1", "amount_fen", "50000"],
    ["donations", "1", "receipt_no", "R-001"],
    ["donations", "2", "received_on", "2026-09-28"],
    ["donations", "2", "donor", "王芳"],
    ["donations", "2", "amount_fen", "100000"],
    ["donations", "2", "receipt_no", "R-002"],
    ["payouts", "", "cash_fen", "19850"],
    ["payouts", "", "rebate_fen", "993"],
    ["payouts", "1", "merchant", "社区便利店"],
    ["payouts", "1", "beans", "120"],
    ["payouts", "1", "cash_fen", "12000"],
    ["payouts", "1", "rebate_fen", "600"],
    ["payouts", "1", "paid_on", "2026-10-05"],
    ["payouts", "1", "payment_ref", "T-1"],
    ["payouts", "2", "merchant", "老李理发店"],
    ["payouts", "2", "beans", "78"],
    ["payouts", "2", "cash_fen", "7850"],
    ["payouts", "2", "rebate_fen", "393"],
    ["payouts", "2", "paid_on", "2026-10-06"],
    ["payouts", "2", "payment_ref", "T-2"],
    ["beans", "issued", "incident_awards", "340"],
    ["beans", "issued", "activity_awards", "1210"],
    ["beans", "issued", "allotments", "500"],
    ["beans", "issued", "total", "2050"],
    ["beans", "", "redeemed", "870"],
    ["beans", "", "refunded", "15"],
    ["beans", "", "gifted", "42"],
    ["beans", "", "retired", "198"],
    ["beans", "", "corrected", "3"],
    ["beans", "", "outstanding_end", "4321"],
    ["fund", "", "balance_start_fen", "400100"],
    ["fund", "", "balance_end_fen", "530250"],
    ["fund", "", "liability_end_fen", "432100"],
    ["fund", "", "coverage_end", "1.2500"],
    ["activity", "", "active_volunteers", "37"],
    ["activity", "", "incidents_verified", "12"],
    ["activity", "", "redemptions", "58"],
    ["activity", "", "merchants_paid", "2"],
    ["report", "", "chain_head", CHAIN],
]


def test_csv_holds_every_figure_of_the_report(report):
    text = fund_report_csv(report)
    rows = parse_csv(text)
    assert rows[0] == ["section", "item", "field", "value"]
    assert rows[1:] == EXPECTED_ROWS


def test_csv_figures_read_back_to_the_json_values(report):
    """Walk the JSON independently: every leaf is in the CSV with the same value."""
    rows = parse_csv(fund_report_csv(report))[1:]
    by_key = {(s, i, f): v for s, i, f, v in rows}
    assert len(by_key) == len(rows)

    def walk(value, section, item):
        if isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(inner, dict):
                    walk(inner, section, key)
                elif isinstance(inner, list):
                    for n, element in enumerate(inner, start=1):
                        walk(element, section, str(n))
                else:
                    got = by_key[(section, item, key)]
                    if isinstance(inner, bool):
                        assert got == str(inner).lower()
                    elif isinstance(inner, int):
                        assert int(got) == inner and got == str(inner)
                    else:
                        assert got == inner

    for key, value in report.items():
        if isinstance(value, dict):
            walk(value, key, "")
        else:
            walk({key: value}, "report", "")


def test_csv_format(report):
    text = fund_report_csv(report)
    assert not text.startswith("\ufeff")
    assert text.startswith("section,item,field,value\r\n")
    assert text.endswith("\r\n")
    assert "\r\n".join(["report,,period,2026-10", "report,,final,true"]) in text


def test_csv_of_an_open_empty_month(open_report):
    rows = parse_csv(fund_report_csv(open_report))[1:]
    assert ["report", "", "final", "false"] in rows
    assert ["fund", "", "coverage_end", ""] in rows
    assert ["report", "", "chain_head", ""] in rows
    assert ["donations", "", "count", "0"] in rows
    assert not [r for r in rows if r[0] in {"donations", "payouts"} and r[1]]
    assert len(rows) == len(EXPECTED_ROWS) - 2 * 4 - 2 * 6


def test_csv_guards_free_text_against_spreadsheet_formulas(report):
    report["donations"]["items"][1]["donor"] = '=HYPERLINK("x")'
    report["fund"]["balance_start_fen"] = -250
    rows = parse_csv(fund_report_csv(report))[1:]
    assert ["donations", "2", "donor", '\'=HYPERLINK("x")'] in rows
    assert ["fund", "", "balance_start_fen", "-250"] in rows


# --------------------------------------------------------------------------------------------
# Fund report HTML

FORMATTED = [
    "¥1,500.00",  # donations total
    "¥500.00",
    "¥1,000.00",
    "¥198.50",  # payouts cash total
    "¥9.93",
    "¥120.00",
    "¥6.00",
    "¥78.50",
    "¥3.93",
    ">340<",
    ">1,210<",
    ">500<",
    ">2,050<",
    ">870<",
    ">15<",
    ">42<",
    ">198<",
    ">3<",
    ">4,321<",
    "¥4,001.00",
    "¥5,302.50",
    "¥4,321.00",
    "1.2500",
    ">37<",
    ">12<",
    ">58<",
    ">2<",
    ">78<",
]
LABELS = [
    "捐款 Donations",
    "商户结算",
    "金豆 Beans",
    "基金 Fund",
    "事件奖励 Incident awards",
    "发放合计 Issued in total",
    "月末流通 Outstanding at month end",
    "覆盖率 Coverage at end",
    "活跃志愿者 Active volunteers",
    "审计链 Audit chain",
]


def test_html_shows_every_figure(report):
    page = fund_report_html(report, make_history(12))
    for text in FORMATTED + LABELS:
        assert text in page, text
    for text in ["匿名 / anonymous", "王芳", "社区便利店", "老李理发店", "R-001", "R-002"]:
        assert text in page
    for text in ["T-1", "T-2", "2026-10-03", "2026-09-28", "2026-10-05", "2026-10-06"]:
        assert text in page
    assert f"<code>{CHAIN}</code>" in page


def test_html_is_a_complete_accessible_page(report):
    page = fund_report_html(report, make_history(12))
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in page
    assert 'name="viewport"' in page
    assert "<title>" in page and "2026-10" in page
    assert page.rstrip().endswith("</html>")


def test_html_links_to_the_other_forms_of_the_same_report(report):
    page = fund_report_html(report, [])
    assert 'href="/reports/2026-10.csv"' in page
    assert 'href="/reports/2026-10.pdf"' in page
    assert 'href="/api/v1/public/fund-reports/2026-10"' in page


def test_html_notes_an_open_month_only(report, open_report):
    assert "本月尚未结束 / month still open" not in fund_report_html(report, [])
    page = fund_report_html(open_report, [])
    assert "本月尚未结束 / month still open" in page
    assert "无负债 / no liability" in page
    assert "本月无记录 / none this month" in page
    assert "<code>" not in page


def test_html_fetches_nothing_and_runs_no_script(report):
    page = fund_report_html(report, make_history(12))
    assert 'src="http' not in page and 'href="http' not in page
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower()


def test_html_escapes_names(report):
    report["payouts"]["items"][0]["merchant"] = "<script>alert(1)</script>店"
    report["donations"]["items"][1]["donor"] = 'Tom & "Jerry"'
    page = fund_report_html(report, [])
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;店" in page
    assert "Tom &amp; &#34;Jerry&#34;" in page


def svgs(page: str) -> list[ET.Element]:
    """Every inline <svg> of the page, parsed (so each is well-formed XML)."""
    found = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    return [ET.fromstring(svg) for svg in found]


@pytest.mark.parametrize("months", [0, 1, 12])
def test_html_has_inline_svg_charts_with_titles(report, months):
    page = fund_report_html(report, make_history(months))
    charts = svgs(page)
    assert len(charts) == 2
    for chart in charts:
        assert chart.get("role") == "img"
        assert chart.find("title").text and chart.find("desc").text
        assert chart.findall(".//text")
    flows, history = charts
    labels = [t.text for t in flows.iter("text")]
    for label in ["发放", "兑换", "退还", "赠送", "回收", "更正", "2,050", "870", "198"]:
        assert label in labels
    circles = history.findall("circle")
    lines = history.findall("polyline")
    if months == 0:
        assert "暂无历史数据 / no history yet" in [t.text for t in history.iter("text")]
        assert not circles and not lines
    elif months == 1:
        assert len(circles) == 2 and not lines
    else:
        assert len(circles) == 24 and len(lines) == 2
        assert all(len(line.get("points").split()) == 12 for line in lines)
        texts = [t.text for t in history.iter("text")]
        assert "2026-12" in texts and "余额 Balance" in texts and "负债 Liability" in texts


def numbers(svg: str) -> list[str]:
    return re.findall(r'\s(?:x|y|x1|y1|x2|y2|cx|cy|width|height)="([^"]*)"', svg)


def test_charts_of_all_zero_values_are_finite(open_report):
    zeros = [{"period": "2026-11", "balance_end_fen": 0, "liability_end_fen": 0}] * 3
    for svg in [bean_flow_svg(open_report), fund_history_svg(zeros, yuan)]:
        assert "nan" not in svg.lower() and "inf" not in svg.lower()
        for value in numbers(svg):
            float(value.rstrip("%"))
        ET.fromstring(svg)


def test_history_chart_puts_every_point_inside_the_plot():
    svg = fund_history_svg(make_history(12), yuan)
    chart = ET.fromstring(svg)
    for circle in chart.findall("circle"):
        assert 0 <= float(circle.get("cx")) <= 640 and 0 <= float(circle.get("cy")) <= 300
    assert "2026-01 余额 balance ¥1,000.37" in svg
    texts = [t.text for t in chart.iter("text")]
    assert ["¥0", "¥5,000", "¥10,000", "¥15,000"] == [t for t in texts if t.startswith("¥")]


def test_history_chart_escapes_its_text():
    svg = fund_history_svg([{"period": "<b>", "balance_end_fen": 1, "liability_end_fen": 2}], yuan)
    assert "<b>" not in svg and "&lt;b&gt;" in svg


# --------------------------------------------------------------------------------------------
# Fund report PDF


def test_pdf_renders_the_chinese_text(report):
    data = fund_report_pdf(report, make_history(12))
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for snippet in ["社区便利店", "老李理发店", "2026-10", "捐款", "王芳", "匿名 / anonymous"]:
        assert snippet in text, snippet
    for snippet in ["￥1,500.00", "￥5,302.50", "1.2500", "4,321", CHAIN, "基金余额与负债"]:
        assert snippet in text, snippet
    assert "本月尚未结束" not in text


def test_pdf_uses_the_cid_font_and_sets_metadata(report):
    data = fund_report_pdf(report, make_history(3))
    reader = PdfReader(io.BytesIO(data))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].get_object().values()
    }
    assert "/STSong-Light" in fonts
    assert reader.metadata.title == "金豆基金月报 Goldbean fund report 2026-10"
    assert reader.metadata.author == "金豆 Goldbean"


def test_pdf_is_deterministic(report):
    history = make_history(5)
    assert fund_report_pdf(report, history) == fund_report_pdf(copy.deepcopy(report), history)


@pytest.mark.parametrize("months", [0, 1, 12])
def test_pdf_with_any_history_length(report, months):
    text = pdf_text(fund_report_pdf(report, make_history(months)))
    if months == 0:
        assert "暂无历史数据" in text
    else:
        assert "2026-01" in text and f"2026-{months:02d}" in text


def test_pdf_of_an_open_empty_month(open_report):
    zeros = [{"period": "2026-11", "balance_end_fen": 0, "liability_end_fen": 0}]
    text = pdf_text(fund_report_pdf(open_report, zeros))
    assert "本月尚未结束 / month still open" in text
    assert "无负债 / no liability" in text
    assert "本月无记录 / none this month" in text


def test_pdf_prints_markup_in_names_as_text(report):
    report["payouts"]["items"][0]["merchant"] = "<b>便利店</b> & Co"
    text = pdf_text(fund_report_pdf(report, []))
    assert "<b>便利店</b>&Co" in re.sub(r"\s", "", text)  # the narrow column wraps it


# --------------------------------------------------------------------------------------------
# Merchant statement


def test_statement_csv():
    text = statement_csv(STATEMENT, "社区便利店")
    assert text.startswith("field,value\r\n")
    rows = parse_csv(text)
    assert rows == [
        ["field", "value"],
        ["merchant", "社区便利店"],
        ["period", "2026-10"],
        ["redeemed", "870"],
        ["refunded", "15"],
        ["net", "855"],
        ["cash_fen", "85500"],
        ["rebate_fen", "4275"],
        ["settled", "855"],
        ["paid", "true"],
    ]


def test_statement_csv_with_negative_net_and_formula_like_name():
    statement = dict(STATEMENT, net=-3, cash_fen=-300, rebate_fen=-15, paid=False)
    rows = parse_csv(statement_csv(statement, "+社区便利店"))
    assert ["merchant", "'+社区便利店"] in rows
    assert ["cash_fen", "-300"] in rows and ["rebate_fen", "-15"] in rows
    assert ["paid", "false"] in rows


def test_statement_pdf():
    data = statement_pdf(STATEMENT, "社区便利店")
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for snippet in ["社区便利店", "2026-10", "商户对账单", "￥855.00", "￥42.75", "是 Yes", "870"]:
        assert snippet in text, snippet
    assert "社区便利店" in reader.metadata.title


def test_statement_pdf_escapes_the_name():
    text = pdf_text(statement_pdf(dict(STATEMENT, paid=False), "<script>x</script>"))
    assert "<script>x</script>" in text and "否 No" in text
