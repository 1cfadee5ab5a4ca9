"""The fund report and the merchant statement as A4 PDFs (reportlab).

All text, Chinese and Latin, is set in Noto Sans SC, embedded as a subset of the
characters the document uses (:mod:`merchant_pos.pdf_font`), so a reader without Chinese
fonts shows it too. The yuan sign is the full-width ``￥``, as on Chinese printed forms.

Output is deterministic (``invariant=1``): the same dicts give the same bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from api import charts
from api import dates as dates_module
from api import report_sections as sections_module
from api.charts import BALANCE_COLOUR, BAR_COLOUR, LIABILITY_COLOUR, axis_scale, bean_flows
from api.dates import month_both, month_text
from api.report_sections import MONTH_OPEN_NOTE, Section, report_sections, statement_rows, yuan
from merchant_pos.pdf_font import font_for, source_text

#: the font of the document being built (:func:`use_font` sets it)
_FONT: ContextVar[str] = ContextVar("report_font")
PDF_YUAN_SIGN = "￥"
AUTHOR = "金豆 Goldbean"
_FRAME_WIDTH = A4[0] - 36 * mm


def use_font(*data: Any) -> str:
    """Register the embedded font for a document showing ``data`` (the report's or the
    statement's values, and the labels of the modules that write them) and make it the
    font of the document being built."""
    texts = [json.dumps(value, ensure_ascii=False, default=str) for value in data]
    labels = source_text(__file__, sections_module.__file__, charts.__file__, dates_module.__file__)
    name = font_for(labels, *texts)
    _FONT.set(name)
    return name


def current_font() -> str:
    """The font of the document being built."""
    return _FONT.get()


def money(fen: int) -> str:
    """Fen as yuan with the full-width sign that the CID font is sure to have."""
    return yuan(fen, sign=PDF_YUAN_SIGN)


def _style(size: float = 9, right: bool = False, name: str = "body") -> ParagraphStyle:
    """A paragraph style in the CID font (CJK line breaking)."""
    return ParagraphStyle(
        name,
        fontName=current_font(),
        fontSize=size,
        leading=size * 1.35,
        wordWrap="CJK",
        alignment=TA_RIGHT if right else 0,
    )


def _para(text: str, size: float = 9, right: bool = False) -> Paragraph:
    """A paragraph of plain text (escaped: reportlab paragraphs read markup)."""
    return Paragraph(escape(text), _style(size, right))


def _table(rows: list[list[Paragraph]], widths: Sequence[float], header: bool) -> Table:
    """A ruled table; the first row is a shaded header when ``header``."""
    table = Table(rows, colWidths=list(widths), repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), current_font()),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f3ead0")))
    table.setStyle(TableStyle(commands))
    return table


def _summary_table(rows: Sequence[tuple[str, str, str]]) -> Table:
    """Label / value rows."""
    data = [[_para(f"{zh} {en}"), _para(value, right=True)] for zh, en, value in rows]
    return _table(data, [_FRAME_WIDTH * 0.6, _FRAME_WIDTH * 0.4], header=False)


def _item_table(section: Section) -> Flowable:
    """The section's item table, or a "none this month" line."""
    if not section.items:
        return _para("本月无记录 / none this month")
    header = [_para(f"{zh} {en}", 8, right=num) for zh, en, num in section.columns]
    body = [
        [_para(cell, 8, right=num) for cell, (_, _, num) in zip(row, section.columns, strict=True)]
        for row in section.items
    ]
    width = _FRAME_WIDTH / len(section.columns)
    return _table([header, *body], [width] * len(section.columns), header=True)


def _section_flowables(section: Section) -> list[Flowable]:
    """Heading, summary table and (for donations and payouts) the item table."""
    flowables: list[Flowable] = [
        Spacer(1, 4 * mm),
        _para(f"{section.zh} {section.en}", 12),
        Spacer(1, 1 * mm),
        _summary_table(section.rows),
    ]
    if section.columns:
        flowables += [Spacer(1, 2 * mm), _item_table(section)]
    return flowables


def _set_value_axis(axis: Any, values: Sequence[int], unit: int = 1) -> None:
    """Integer ticks spanning 0 and every value, whatever the values (all zero too)."""
    axis.valueMin, axis.valueMax, axis.valueStep = axis_scale(values, unit)
    axis.labels.fontName = current_font()
    axis.labels.fontSize = 7


def _chart_title(drawing: Drawing, text: str) -> None:
    """A centred title at the top of a chart drawing."""
    drawing.add(
        String(
            drawing.width / 2,
            drawing.height - 12,
            text,
            fontName=current_font(),
            fontSize=10,
            textAnchor="middle",
        )
    )


def bean_flow_chart(report: dict[str, Any]) -> Drawing:
    """A bar chart of the month's bean flows."""
    flows = bean_flows(report)
    drawing = Drawing(_FRAME_WIDTH, 190)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 50, 40, _FRAME_WIDTH - 70, 120
    chart.data = [[value for _, _, value in flows]]
    chart.bars[0].fillColor = colors.HexColor(BAR_COLOUR)
    chart.categoryAxis.categoryNames = [f"{zh}\n{en}" for zh, en, _ in flows]
    chart.categoryAxis.labels.fontName = current_font()
    chart.categoryAxis.labels.fontSize = 8
    chart.categoryAxis.labels.dy = -4
    _set_value_axis(chart.valueAxis, chart.data[0])
    chart.valueAxis.labelTextFormat = lambda v: f"{int(v):,}"
    chart.barLabelFormat = lambda v: f"{int(v):,}"
    chart.barLabels.fontName = current_font()
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    drawing.add(chart)
    _chart_title(drawing, f"本月金豆流向 Bean flows ({month_both(report['period'])})")
    return drawing


def _period_labels(periods: Sequence[str]) -> list[str]:
    """At most twelve period labels, counted back from the last; the others blank."""
    step = -(-len(periods) // 12)
    return [
        month_text(p) if (len(periods) - 1 - i) % step == 0 else "" for i, p in enumerate(periods)
    ]


def fund_history_chart(history: Sequence[dict[str, Any]]) -> Flowable:
    """A line chart of month-end balance and liability, or a note when there is no history."""
    if not history:
        return _para("基金余额与负债：暂无历史数据 / Fund balance and liability: no history yet")
    balances = [int(h["balance_end_fen"]) for h in history]
    liabilities = [int(h["liability_end_fen"]) for h in history]
    drawing = Drawing(_FRAME_WIDTH, 210)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 70, 35, _FRAME_WIDTH - 90, 130
    chart.data = [balances, liabilities]
    chart.joinedLines = 1
    for i, colour in enumerate((BALANCE_COLOUR, LIABILITY_COLOUR)):
        chart.lines[i].strokeColor = colors.HexColor(colour)
        chart.lines[i].strokeWidth = 1.5
        chart.lines[i].symbol = makeMarker("FilledCircle", size=3)
    chart.lines[1].strokeDashArray = (4, 3)
    chart.categoryAxis.categoryNames = _period_labels([str(h["period"]) for h in history])
    chart.categoryAxis.labels.fontName = current_font()
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    _set_value_axis(chart.valueAxis, balances + liabilities, unit=100)
    chart.valueAxis.labelTextFormat = lambda v: money(int(v))[:-3]
    drawing.add(chart)
    drawing.add(_history_legend())
    _chart_title(drawing, "基金余额与负债 Fund balance and liability (月末 month end)")
    return drawing


def _history_legend() -> Legend:
    """The legend of the balance / liability chart."""
    legend = Legend()
    legend.x, legend.y = 70, 182
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.fontName = current_font()
    legend.fontSize = 8
    legend.colorNamePairs = [
        (colors.HexColor(BALANCE_COLOUR), "余额 Balance"),
        (colors.HexColor(LIABILITY_COLOUR), "负债 Liability"),
    ]
    return legend


def _footer(text: str) -> Any:
    """An ``onPage`` callback drawing ``text`` and the page number at the foot."""

    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(current_font(), 7)
        canvas.drawString(18 * mm, 10 * mm, text)
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"第 {doc.page} 页 / page {doc.page}")
        canvas.restoreState()

    return draw


def _build(flowables: list[Flowable], title: str, subject: str) -> bytes:
    """Lay out ``flowables`` on A4 pages with metadata and return the PDF bytes."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=title,
        author=AUTHOR,
        subject=subject,
        creator="Goldbean",
        lang="zh-CN",
        invariant=1,
        initialFontName=current_font(),
    )
    footer = _footer(title)
    doc.build(flowables, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def fund_report_pdf(
    report: dict[str, Any], history: list[dict[str, Any]], zone: Any = None
) -> bytes:
    """The monthly fund report as an A4 PDF: every figure in tables, and two charts;
    times in ``zone`` (the programme's)."""
    use_font(report, history)
    period = month_both(report["period"])
    title = f"金豆基金报告 Goldbean fund report {period}"
    flowables: list[Flowable] = [_para(title, 16)]
    status = "本月已结束 / month closed" if report["final"] else MONTH_OPEN_NOTE
    flowables.append(_para(f"报告月份 Period: {period}, 状态 Status: {status}", 9))
    for section in report_sections(report, money, zone):
        flowables += _section_flowables(section)
    flowables += [Spacer(1, 6 * mm), bean_flow_chart(report), Spacer(1, 4 * mm)]
    flowables.append(fund_history_chart(history))
    chain = report["chain_head"] or "无 none"
    flowables += [Spacer(1, 4 * mm), _para("审计链头 Audit chain head", 12), _para(chain, 8)]
    return _build(flowables, title, f"基金报告 Fund report {period}")


def statement_pdf(statement: dict[str, Any], merchant_name: str) -> bytes:
    """A merchant's monthly statement as a one-page A4 PDF."""
    use_font(statement, merchant_name)
    period = month_both(statement["period"])
    title = f"商户对账单 Merchant statement {period}"
    flowables: list[Flowable] = [
        _para(title, 16),
        Spacer(1, 3 * mm),
        _para(f"商户 Merchant: {merchant_name}", 12),
        Spacer(1, 3 * mm),
        _summary_table(statement_rows(statement, money)),
    ]
    return _build(flowables, f"{title}: {merchant_name}", f"Merchant statement {period}")
