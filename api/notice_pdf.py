"""The month's notice for a community's notice board (公示): one A4 page in large type,
in Chinese, with the month's figures in sentences and a small table, the audit chain
head, and a QR code to the report online. Pure function of the public report (SPEC §7)
and what :mod:`api.report_view` computes from it; the Chinese font is embedded
(:mod:`merchant_pos.pdf_font`). Output is deterministic.
"""

from __future__ import annotations

import io
import json
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from api import dates
from api.dates import month_text
from api.report_sections import coverage_percent, yuan
from api.report_view import payout_groups, spending_periods, yuan_per_bean
from merchant_pos.pdf_font import font_for, source_text
from merchant_pos.printing import draw_qr

WIDTH = A4[0] - 36 * mm


def month_zh(period: str) -> str:
    """``2026-05`` -> ``2026年5月`` (:func:`api.dates.month_text`)."""
    return month_text(period, "zh")


def money(fen: int) -> str:
    return yuan(fen, sign="￥")


class QrCode(Flowable):
    """A QR code of ``text``, ``size`` square, centred in the frame."""

    def __init__(self, text: str, size: float) -> None:
        super().__init__()
        self.text, self.size = text, size

    def wrap(self, available_width: float, _available_height: float) -> tuple[float, float]:
        self.offset = (available_width - self.size) / 2
        return available_width, self.size

    def draw(self) -> None:
        draw_qr(self.canv, self.text, self.offset, 0, self.size)


def sentences(report: dict[str, Any], settlements: list[dict[str, Any]]) -> list[str]:
    """The month in five sentences a resident reads on the board."""
    donations, payouts, fund = report["donations"], report["payouts"], report["fund"]
    groups = payout_groups(report, settlements)
    said = [f"本月收到捐款 {donations['count']} 笔，共 {money(donations['total_fen'])}。"]
    if groups:
        months = "、".join(month_zh(p) for p in spending_periods(groups)) or "此前"
        said.append(f"向商户支付 {money(payouts['cash_fen'])}，结算的是{months}居民用金豆的消费。")
    else:
        said.append("本月没有向商户付款。")
    said.append(f"另付给商户返利 {money(payouts['rebate_fen'])}，感谢商户收金豆。")
    said.append(f"月底基金余额 {money(fund['balance_end_fen'])}。")
    per_bean = yuan_per_bean(report)
    if per_bean is None:
        said.append("目前没有流通中的金豆，基金没有待付款项。")
    else:
        share = coverage_percent(fund["coverage_end"])
        said.append(f"居民手中每一颗金豆，基金备有 ￥{per_bean}（相当于金豆价值的 {share}）。")
    return said


def figures(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The small table: the fund's month in yuan, and the beans."""
    fund, beans = report["fund"], report["beans"]
    return [
        ("月初基金余额", money(fund["balance_start_fen"])),
        ("收到捐款", money(report["donations"]["total_fen"])),
        ("支付商户", money(report["payouts"]["cash_fen"])),
        ("商户返利", money(report["payouts"]["rebate_fen"])),
        ("月底基金余额", money(fund["balance_end_fen"])),
        ("本月发放金豆", f"{beans['issued']['total']:,} 颗"),
        ("本月在商户消费", f"{beans['redeemed']:,} 颗"),
        ("月底流通金豆", f"{beans['outstanding_end']:,} 颗"),
    ]


def notice_pdf(report: dict[str, Any], settlements: list[dict[str, Any]], url: str) -> bytes:
    """The notice of ``report``'s month as a one-page A4 PDF; the QR code opens ``url``."""
    period = report["period"]
    title = f"金豆基金 {month_zh(period)} 收支公示"
    said = sentences(report, settlements)
    rows = figures(report)
    font = font_for(
        source_text(__file__, dates.__file__), title, url, json.dumps(report, ensure_ascii=False)
    )

    def style(size: float, centred: bool = False) -> ParagraphStyle:
        return ParagraphStyle(
            f"notice{size}",
            fontName=font,
            fontSize=size,
            leading=size * 1.4,
            wordWrap="CJK",
            alignment=TA_CENTER if centred else 0,
        )

    table = Table(
        [[Paragraph(escape(k), style(14)), Paragraph(escape(v), style(14))] for k, v in rows],
        colWidths=[WIDTH * 0.55, WIDTH * 0.45],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    flowables: list[Flowable] = [Paragraph(escape(title), style(26, centred=True))]
    if not report["final"]:
        flowables.append(Paragraph("本月尚未结束，数字截至生成时。", style(12, centred=True)))
    flowables.append(Spacer(1, 5 * mm))
    flowables += [Paragraph(escape(s), style(17)) for s in said]
    flowables += [Spacer(1, 5 * mm), table, Spacer(1, 5 * mm)]
    chain = report["chain_head"] or "（本月底前没有记录）"
    flowables.append(Paragraph(escape(f"审计链值（可据此核对账本）：{chain}"), style(9)))
    flowables += [Spacer(1, 4 * mm), QrCode(url, 38 * mm), Spacer(1, 2 * mm)]
    flowables.append(Paragraph(escape(f"扫码查看完整报告：{url}"), style(11, centred=True)))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=12 * mm,
        title=title,
        author="金豆 Goldbean",
        subject=f"Fund notice {period}",
        creator="Goldbean",
        lang="zh-CN",
        invariant=1,
        initialFontName=font,
    )
    doc.build(flowables)
    return buffer.getvalue()
