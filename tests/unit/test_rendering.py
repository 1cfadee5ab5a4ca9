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
from openpyxl import load_workbook
from pypdf import PdfReader

from api.charts import ChartWords, bean_flow_svg, fund_history_svg
from api.rendering import fund_report_pdf, statement_csv, statement_pdf
from api.report_sections import coverage_percent, yuan
from api.spreadsheets import Sheet, sheets_csv, sheets_xlsx, yuan_amount

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
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


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
# Spreadsheets (the report's CSV and XLSX) and charts


def test_csv_has_a_byte_order_mark_and_one_table_after_another():
    sheets = [
        Sheet("摘要", ["月份", "捐款（元）"], [["2026-10", yuan_amount(150000)]]),
        Sheet(
            "捐款",
            ["捐赠人", "金额（元）"],
            [["王芳", yuan_amount(50000)], ["匿名", yuan_amount(5)]],
        ),
    ]
    body = sheets_csv(sheets)
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert text.startswith("月份,捐款（元）\r\n2026-10,1500.00\r\n")
    donations = [["捐赠人", "金额（元）"], ["王芳", "500.00"], ["匿名", "0.05"]]
    assert parse_csv(text)[2:] == [[], ["捐款"], *donations]


def test_csv_and_xlsx_guard_free_text_against_spreadsheet_formulas():
    sheet = Sheet("t", ["donor", "amount"], [['=HYPERLINK("x")', yuan_amount(-250)]])
    rows = parse_csv(sheets_csv([sheet]).decode("utf-8-sig"))
    assert rows[1] == ['\'=HYPERLINK("x")', "-2.50"]
    book = load_workbook(io.BytesIO(sheets_xlsx([sheet])))
    assert book["t"]["A2"].value == '\'=HYPERLINK("x")' and book["t"]["A2"].data_type == "s"


def test_xlsx_has_a_sheet_per_table_with_exact_amounts():
    sheets = [
        Sheet("概要", ["月份", "捐款（元）"], [["2026-10", yuan_amount(150000)]]),
        Sheet("概要", ["x"], []),  # a second sheet of the same name is renamed, not lost
    ]
    book = load_workbook(io.BytesIO(sheets_xlsx(sheets)))
    assert book.sheetnames == ["概要", "概要(2)"]
    cell = book["概要"]["B2"]
    assert cell.value == 1500 and cell.number_format == "#,##0.00"
    assert book["概要"]["A1"].font.bold


def test_coverage_is_a_percentage_everywhere():
    assert coverage_percent("3.6705") == "367.1%"
    assert coverage_percent("1.2500") == "125.0%"
    assert coverage_percent("0.00049") == "0.0%"
    assert coverage_percent("12.34565") == "1,234.6%"
    assert coverage_percent(None) is None


WORDS = ChartWords("Fund", "Balance", "Liability", "No history yet")
FLOW_NAMES = ["Given out", "Spent", "Refunded", "Gifts", "Retired", "Corrected"]


@pytest.mark.parametrize("months", [0, 1, 12])
def test_charts_are_inline_svg_with_titles_in_the_words_given(report, months):
    flows = ET.fromstring(bean_flow_svg(report, FLOW_NAMES, "Beans this month"))
    history = ET.fromstring(fund_history_svg(make_history(months), yuan, WORDS))
    for chart in (flows, history):
        assert chart.get("role") == "img"
        assert chart.find("title").text and chart.find("desc").text
        assert chart.findall(".//text")
    labels = [t.text for t in flows.iter("text")]
    for label in [*FLOW_NAMES, "2,050", "870", "198"]:
        assert label in labels
    circles = history.findall("circle")
    lines = history.findall("polyline")
    if months == 0:
        assert "No history yet" in [t.text for t in history.iter("text")]
        assert not circles and not lines
    elif months == 1:
        assert len(circles) == 2 and not lines
    else:
        assert len(circles) == 24 and len(lines) == 2
        assert all(len(line.get("points").split()) == 12 for line in lines)
        texts = [t.text for t in history.iter("text")]
        assert "2026-12" in texts and "Balance" in texts and "Liability" in texts


def test_charts_are_drawn_for_a_phone(report):
    """360 units wide, so a 360 px phone draws them 1:1: no text under 12 px, and the last
    month's label ends at its point instead of running off the edge."""
    for svg in (
        bean_flow_svg(report, FLOW_NAMES, "t"),
        fund_history_svg(make_history(12), yuan, WORDS),
    ):
        chart = ET.fromstring(svg)
        assert chart.get("viewBox").split()[2] == "360"
        assert min(int(t.get("font-size")) for t in chart.iter("text")) >= 12
    history = ET.fromstring(fund_history_svg(make_history(12), yuan, WORDS))
    periods = [t for t in history.iter("text") if (t.text or "").startswith("20")]
    assert len(periods) <= 4 and periods[-1].text == "2026-12"
    assert periods[-1].get("text-anchor") == "end" and float(periods[-1].get("x")) <= 360


def numbers(svg: str) -> list[str]:
    return re.findall(r'\s(?:x|y|x1|y1|x2|y2|cx|cy|width|height)="([^"]*)"', svg)


def test_charts_of_all_zero_values_are_finite(open_report):
    zeros = [{"period": "2026-11", "balance_end_fen": 0, "liability_end_fen": 0}] * 3
    for svg in [bean_flow_svg(open_report, FLOW_NAMES, "t"), fund_history_svg(zeros, yuan, WORDS)]:
        assert "nan" not in svg.lower() and "inf" not in svg.lower()
        for value in numbers(svg):
            float(value.rstrip("%"))
        ET.fromstring(svg)


def test_history_chart_puts_every_point_inside_the_plot():
    svg = fund_history_svg(make_history(12), yuan, WORDS)
    chart = ET.fromstring(svg)
    width, height = (float(v) for v in chart.get("viewBox").split()[2:])
    for circle in chart.findall("circle"):
        assert 0 <= float(circle.get("cx")) <= width and 0 <= float(circle.get("cy")) <= height
    assert "2026-01 Balance ¥1,000.37" in svg
    texts = [t.text for t in chart.iter("text")]
    assert ["¥0", "¥5,000", "¥10,000", "¥15,000"] == [t for t in texts if t.startswith("¥")]


def test_history_chart_escapes_its_text():
    point = [{"period": "<b>", "balance_end_fen": 1, "liability_end_fen": 2}]
    svg = fund_history_svg(point, yuan, WORDS)
    assert "<b>" not in svg and "&lt;b&gt;" in svg


# --------------------------------------------------------------------------------------------
# Fund report PDF


def test_pdf_renders_the_chinese_text(report):
    data = fund_report_pdf(report, make_history(12))
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for snippet in ["社区便利店", "老李理发店", "2026年10月", "捐款", "王芳", "匿名 / anonymous"]:
        assert snippet in text, snippet
    for snippet in ["￥1,500.00", "￥5,302.50", "125.0%", "4,321", CHAIN, "基金余额与负债"]:
        assert snippet in text, snippet
    assert "本月尚未结束" not in text


def test_pdf_lists_the_month_s_rule_changes_in_local_time(report):
    report = {
        **report,
        "rule_changes": [
            {
                "effective_at": "2026-10-09T16:00:00+00:00",  # the 10th at midnight, Shanghai
                "changes": {
                    "beneficiary_categories": ["grocery", "produce", "canteen", "restaurant"],
                    "allotment_beans": 120,
                },
            }
        ],
    }
    text = pdf_text(fund_report_pdf(report, make_history(12)))
    assert "规则变更" in text and "Rule changes" in text
    assert "2026年10月10日 00:00" in text and "餐馆 Restaurant" in text and "120" in text


def embedded_fonts(data: bytes) -> dict[str, bool]:
    """Each font of a PDF's pages: is its file embedded?"""
    found = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].get_object().values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            found[str(font["/BaseFont"])] = embedded
    return found


def test_pdf_embeds_a_subset_of_its_chinese_font_and_sets_metadata(report):
    data = fund_report_pdf(report, make_history(3))
    reader = PdfReader(io.BytesIO(data))
    fonts = embedded_fonts(data)
    noto = [name for name in fonts if "+NotoSansSC-" in name]
    assert noto and all(fonts[name] for name in noto)  # embedded, as a subset ("ABCDEF+")
    assert "/STSong-Light" not in fonts  # a reader without Chinese fonts shows no boxes
    assert len(data) < 150_000  # a subset, not the 8 MB font
    assert reader.metadata.title == "金豆基金报告 Goldbean fund report 2026年10月 / October 2026"
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
        assert "2026年1月" in text and f"2026年{months}月" in text  # the chart's months


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
    assert text.startswith("\ufefffield,value\r\n")  # a byte-order mark for Excel
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
    for snippet in [
        "社区便利店",
        "2026年10月 / October 2026",
        "商户对账单",
        "￥855.00",
        "￥42.75",
        "是 Yes",
        "870",
    ]:
        assert snippet in text, snippet
    assert "社区便利店" in reader.metadata.title


def test_statement_pdf_escapes_the_name():
    text = pdf_text(statement_pdf(dict(STATEMENT, paid=False), "<script>x</script>"))
    assert "<script>x</script>" in text and "否 No" in text
