"""Printed codes as A4 PDFs (reportlab): a merchant's counter sign and sheets of
beneficiary cards (SPEC §5).

The QR symbols are drawn as vector paths from :func:`merchant_pos.qr.qr_matrix`, one
rectangle per run of dark modules, so they print sharp at any size. Text, Chinese and
Latin, is set in Noto Sans SC, embedded as a subset of the characters the document uses
(:mod:`merchant_pos.pdf_font`; api/rendering_pdf.py uses the same font for the reports). Output is
deterministic (``invariant``): the same inputs give the same bytes.

Cards are ID-1 size (85.6 × 54 mm, a bank card), eight to a page in 2 columns × 4 rows,
each outlined with a dashed cutting line. A card carries no name (SPEC §5; the /how page
promises it): its front has the QR code and the card number, its back, on the next page
placed for double-sided printing, how to use it, where it works and the community's
telephone, every word at 12 pt or more. Which card is whose is on a separate sheet for the
coordinator (:func:`card_holders_pdf`), with the card numbers shortened to their last
digits, so the sheet cannot pay with anyone's card.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from merchant_pos.pdf_font import font_for, source_text
from merchant_pos.qr import qr_matrix

#: the font of the document being drawn (:func:`_new_canvas` sets it)
_FONT: ContextVar[str] = ContextVar("printing_font")
AUTHOR = "金豆 Goldbean"
PAGE_WIDTH, PAGE_HEIGHT = A4
CARD_WIDTH, CARD_HEIGHT = 85.6 * mm, 54 * mm
CARD_COLUMNS, CARD_ROWS = 2, 4
CARDS_PER_PAGE = CARD_COLUMNS * CARD_ROWS

SIGN_HOW_TO_PAY = (
    "用金豆付款：打开金豆，扫码，输入金额，确认",
    "Pay with Goldbean: open Goldbean, scan this code, enter the amount, confirm",
)
SIGN_CONFIRMATION = (
    "以收银屏幕显示的付款确认为准，截图无效",
    "A payment counts when the till's screen confirms it; a screenshot does not",
)
#: the smallest type on a card: elders read it without glasses
CARD_TEXT_PT = 12
CARD_PAY = "出示此卡付款"
CARD_INSTRUCTIONS = ("在收银台出示此卡，收银员扫码收款。", "如设了密码，请输入四位密码。")
#: how many digits of a card number the holders' sheet shows
SHEET_DIGITS = 5


@dataclass(frozen=True)
class PrintedCard:
    """One beneficiary card to print: its code (17 digits). No name: see the module."""

    code: str


@dataclass(frozen=True)
class CardBack:
    """What the back of every card of a sheet says: the kinds of shops where the card
    works (``where``, worded), some of the partner shops (``shops``) and the community's
    telephone (``hotline``; None: "ask the community office")."""

    where: tuple[str, ...]
    shops: tuple[str, ...] = ()
    hotline: str | None = None

    def lines(self) -> list[tuple[str, int]]:
        """The back's paragraphs, each with the most lines it may take."""
        lines = [(text, 2) for text in CARD_INSTRUCTIONS]
        if self.where:
            lines.append(("可用商店：" + "、".join(self.where), 2))
        if self.shops:
            lines.append(("如：" + "、".join(self.shops), 2))
        if self.hotline:
            lines.append((f"遗失或有疑问，请拨打社区电话：{self.hotline}", 2))
        else:
            lines.append(("遗失或有疑问，请联系社区。", 1))
        return lines


@dataclass(frozen=True)
class CardHolder:
    """A row of the coordinator's sheet: whose card, by the holder's account number."""

    name: str
    number: str
    code: str


def register_font(*texts: str) -> str:
    """The embedded font for a document of ``texts`` (and this module's own words), now
    the font of the document being drawn."""
    name = font_for(source_text(__file__), *texts)
    _FONT.set(name)
    return name


def current_font() -> str:
    """The font of the document being drawn."""
    return _FONT.get()


def grouped(code: str) -> str:
    """The code's digits in groups of 4, as people read them out."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """Draw ``text``'s QR symbol (quiet zone included) as a ``size`` square whose
    lower-left corner is at ``x``, ``y``: one filled path, a rectangle per dark run."""
    matrix = qr_matrix(text)
    module = size / len(matrix)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + 1) * module
        start = None
        for column, dark in enumerate([*row, False]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                path.rect(x + start * module, top, (column - start) * module, module)
                start = None
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _paragraph(text: str, size: float, centred: bool = False) -> Paragraph:
    style = ParagraphStyle(
        "printed",
        fontName=current_font(),
        fontSize=size,
        leading=size * 1.3,
        wordWrap="CJK",
        alignment=TA_CENTER if centred else 0,
    )
    return Paragraph(escape(text), style)


def _draw_paragraph(
    canvas: Canvas, text: str, size: float, x: float, top: float, width: float, centred=False
) -> float:
    """Draw wrapped text from ``top`` down; return the y of its bottom."""
    paragraph = _paragraph(text, size, centred)
    _, height = paragraph.wrapOn(canvas, width, PAGE_HEIGHT)
    paragraph.drawOn(canvas, x, top - height)
    return top - height


def _shortened(text: str, size: float, width: float, lines: int) -> str:
    """``text``, cut short with "…" if it would take more than ``lines`` lines."""
    shown = text
    while len(shown) > 1:
        _, height = _paragraph(shown, size).wrap(width, PAGE_HEIGHT)
        if height <= lines * size * 1.3 + 0.1:
            break
        text = text[:-1]
        shown = text.rstrip() + "…"
    return shown


def _fitting_size(text: str, width: float, largest: float, smallest: float) -> float:
    """The largest font size from ``largest`` down to ``smallest`` at which ``text`` fits
    on one line of ``width`` (``smallest`` if none does: the paragraph then wraps)."""
    size = largest
    while size > smallest and pdfmetrics.stringWidth(text, current_font(), size) > width:
        size -= 1
    return size


def _new_canvas(buffer: io.BytesIO, title: str, subject: str, *texts: str) -> Canvas:
    """A canvas for one document whose variable text is ``texts`` (names, codes)."""
    register_font(title, subject, *texts)
    canvas = Canvas(buffer, pagesize=A4, invariant=1, lang="zh-CN", initialFontName=current_font())
    canvas.setTitle(title)
    canvas.setAuthor(AUTHOR)
    canvas.setSubject(subject)
    canvas.setCreator("Goldbean")
    return canvas


def counter_sign_pdf(merchant_name: str, code: str) -> bytes:
    """A merchant's A4 counter sign: its name, the counter QR code large, the code's
    digits and how to pay, in Chinese and English."""
    buffer = io.BytesIO()
    title = f"金豆付款码 Goldbean pay code: {merchant_name}"
    canvas = _new_canvas(buffer, title, "Counter sign", merchant_name, code)
    margin = 20 * mm
    width = PAGE_WIDTH - 2 * margin
    top = PAGE_HEIGHT - 22 * mm
    top = _draw_paragraph(canvas, "金豆 Goldbean", 14, margin, top, width, centred=True)
    size = _fitting_size(merchant_name, width, 34, 18)
    top = _draw_paragraph(canvas, merchant_name, size, margin, top - 6 * mm, width, centred=True)
    top = _draw_paragraph(
        canvas, "金豆付款码 Goldbean pay code", 16, margin, top - 4 * mm, width, centred=True
    )
    qr_size = min(125 * mm, top - 95 * mm)
    qr_bottom = top - 4 * mm - qr_size
    draw_qr(canvas, code, (PAGE_WIDTH - qr_size) / 2, qr_bottom, qr_size)
    top = _draw_paragraph(
        canvas, f"收款码 Counter code  {grouped(code)}", 18, margin, qr_bottom, width, True
    )
    top -= 8 * mm
    for zh, en in (SIGN_HOW_TO_PAY, SIGN_CONFIRMATION):
        top = _draw_paragraph(canvas, zh, 16, margin, top, width, centred=True)
        top = _draw_paragraph(canvas, en, 12, margin, top - 1 * mm, width, centred=True) - 5 * mm
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_outline(canvas: Canvas, x: float, y: float) -> None:
    canvas.saveState()
    canvas.setDash(3, 3)
    canvas.setLineWidth(0.4)
    canvas.setStrokeGray(0.6)
    canvas.roundRect(x, y, CARD_WIDTH, CARD_HEIGHT, 3 * mm, stroke=1, fill=0)
    canvas.restoreState()


def _draw_card(canvas: Canvas, card: PrintedCard, x: float, y: float) -> None:
    """One card's front with its lower-left corner at ``x``, ``y``: the QR code, the
    title, the number, and what to do with it; no name."""
    _draw_outline(canvas, x, y)
    qr_size = 32 * mm
    draw_qr(canvas, card.code, x + 3 * mm, y + (CARD_HEIGHT - qr_size) / 2, qr_size)
    left = x + 3 * mm + qr_size + 2 * mm
    width = x + CARD_WIDTH - 3 * mm - left
    top = _draw_paragraph(canvas, "金豆卡", 16, left, y + CARD_HEIGHT - 5 * mm, width)
    top = _draw_paragraph(canvas, "Goldbean card", CARD_TEXT_PT, left, top, width)
    number = grouped(card.code)
    size = _fitting_size(number, width, 14, CARD_TEXT_PT)
    top = _draw_paragraph(canvas, number, size, left, top - 2 * mm, width)
    _draw_paragraph(canvas, CARD_PAY, CARD_TEXT_PT, left, top - 2 * mm, width)


def _draw_back(canvas: Canvas, back: CardBack, x: float, y: float) -> None:
    """The back of a card with its lower-left corner at ``x``, ``y``."""
    _draw_outline(canvas, x, y)
    left, width = x + 4 * mm, CARD_WIDTH - 8 * mm
    top = _draw_paragraph(canvas, "金豆卡使用说明", 13, left, y + CARD_HEIGHT - 4 * mm, width)
    for text, lines in back.lines():
        shown = _shortened(text, CARD_TEXT_PT, width, lines)
        top = _draw_paragraph(canvas, shown, CARD_TEXT_PT, left, top - 0.6 * mm, width)


def cards_pdf(cards: Sequence[PrintedCard], back: CardBack) -> bytes:
    """Beneficiary cards on A4 sheets, eight to a page (2 columns × 4 rows): a page of
    fronts (the QR code, the card number in groups of 4, no name), then a page of their
    backs (how to use the card, where it works, the community's telephone), placed so
    that each back falls behind its front when printed on both sides (long-edge flip)."""
    if not cards:
        raise ValueError("a sheet needs at least one card")
    buffer = io.BytesIO()
    texts = [card.code for card in cards]
    back_texts = [text for text, _ in back.lines()]
    canvas = _new_canvas(
        buffer, "金豆卡 Goldbean cards", f"{len(cards)} bean card(s)", *texts, *back_texts
    )
    left = (PAGE_WIDTH - CARD_COLUMNS * CARD_WIDTH) / 2
    bottom = (PAGE_HEIGHT - CARD_ROWS * CARD_HEIGHT) / 2
    note_width = PAGE_WIDTH - 2 * left
    note_top = PAGE_HEIGHT - 12 * mm
    for start in range(0, len(cards), CARDS_PER_PAGE):
        sheet = cards[start : start + CARDS_PER_PAGE]
        _draw_paragraph(
            canvas,
            "请双面打印（长边翻转）：下一页是卡的背面。Print on both sides (long-edge flip).",
            CARD_TEXT_PT,
            left,
            note_top,
            note_width,
        )
        for place, card in enumerate(sheet):
            row, column = divmod(place, CARD_COLUMNS)
            x = left + column * CARD_WIDTH
            y = bottom + (CARD_ROWS - 1 - row) * CARD_HEIGHT
            _draw_card(canvas, card, x, y)
        canvas.showPage()
        for place in range(len(sheet)):
            row, column = divmod(place, CARD_COLUMNS)
            x = left + (CARD_COLUMNS - 1 - column) * CARD_WIDTH  # mirrored: behind its front
            y = bottom + (CARD_ROWS - 1 - row) * CARD_HEIGHT
            _draw_back(canvas, back, x, y)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def shortened_number(code: str) -> str:
    """A card number as the holders' sheet shows it: only its last digits, grouped as on
    the card ("**** **** **** 2345 6")."""
    hidden = "*" * (len(code) - SHEET_DIGITS) + code[-SHEET_DIGITS:]
    return grouped(hidden)


def card_holders_pdf(holders: Sequence[CardHolder]) -> bytes:
    """The coordinator's sheet for handing out cards: for each card, in the order of the
    card sheets, its page and place there, its number's last digits, the holder's name and
    account number, and a column to sign on receipt. Not to be given out."""
    if not holders:
        raise ValueError("a sheet needs at least one card")
    buffer = io.BytesIO()
    texts = [text for h in holders for text in (h.name, h.number, shortened_number(h.code))]
    canvas = _new_canvas(buffer, "金豆卡领取名单 Card holders", "coordinators only", *texts)
    margin = 18 * mm
    width = PAGE_WIDTH - 2 * margin
    columns = (0, 30 * mm, 82 * mm, 126 * mm, 152 * mm)  # place, number, name, account, sign
    widths = [b - a - 2 * mm for a, b in zip(columns, (*columns[1:], width), strict=True)]
    headings = ("位置", "卡号（后五位）", "姓名", "账户号", "领取签字")
    row_height = 9 * mm
    rows_per_page = 24
    for start in range(0, len(holders), rows_per_page):
        top = PAGE_HEIGHT - 18 * mm
        top = _draw_paragraph(
            canvas, "金豆卡领取名单（仅供协调员使用，请勿外传）", 14, margin, top, width
        )
        top = _draw_paragraph(
            canvas,
            "卡上只有号码，没有姓名。发卡时按卡号后五位核对，请领取人签字。",
            CARD_TEXT_PT,
            margin,
            top - 1 * mm,
            width,
        )
        top -= 4 * mm
        canvas.setLineWidth(0.4)
        rows = [headings]
        for index, holder in enumerate(holders[start : start + rows_per_page], start=start):
            page, place = divmod(index, CARDS_PER_PAGE)
            rows.append(
                (
                    f"第{page * 2 + 1}页 第{place + 1}张",
                    shortened_number(holder.code),
                    _shortened(holder.name, CARD_TEXT_PT, widths[2], 1),
                    holder.number,
                    "",
                )
            )
        for cells in rows:
            canvas.line(margin, top, margin + width, top)
            for column, cell_width, cell in zip(columns, widths, cells, strict=True):
                if cell:
                    _draw_paragraph(
                        canvas, cell, CARD_TEXT_PT, margin + column, top - 1.5 * mm, cell_width
                    )
            top -= row_height
        canvas.line(margin, top, margin + width, top)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
