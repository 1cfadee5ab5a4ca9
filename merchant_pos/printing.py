"""Printed codes as A4 PDFs (reportlab): a merchant's counter sign and sheets of
beneficiary cards (SPEC §5).

The QR symbols are drawn as vector paths from :func:`merchant_pos.qr.qr_matrix`, one
rectangle per run of dark modules, so they print sharp at any size. Text, Chinese and
Latin, is set in Noto Sans SC, embedded as a subset of the characters the document uses
(:mod:`merchant_pos.pdf_font`; api/rendering_pdf.py uses the same font for the reports). Output is
deterministic (``invariant``): the same inputs give the same bytes.

Cards are ID-1 size (85.6 × 54 mm, a bank card), eight to a page in 2 columns × 4 rows,
each outlined with a dashed cutting line.
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
CARD_INSTRUCTIONS = ("出示此卡付款；", "如设密码请输入四位密码；", "遗失请联系社区")


@dataclass(frozen=True)
class PrintedCard:
    """One beneficiary card to print: the holder's name and the card code (17 digits)."""

    name: str
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


def _draw_card(canvas: Canvas, card: PrintedCard, x: float, y: float) -> None:
    """One card with its lower-left corner at ``x``, ``y``."""
    canvas.saveState()
    canvas.setDash(3, 3)
    canvas.setLineWidth(0.4)
    canvas.setStrokeGray(0.6)
    canvas.roundRect(x, y, CARD_WIDTH, CARD_HEIGHT, 3 * mm, stroke=1, fill=0)
    canvas.restoreState()
    qr_size = 34 * mm
    draw_qr(canvas, card.code, x + 3 * mm, y + (CARD_HEIGHT - qr_size) / 2, qr_size)
    left = x + 3 * mm + qr_size + 2 * mm
    width = x + CARD_WIDTH - 4 * mm - left
    top = _draw_paragraph(canvas, "金豆卡 Goldbean card", 8, left, y + CARD_HEIGHT - 5 * mm, width)
    size = _fitting_size(card.name, width, 14, 9)
    name = _shortened(card.name, size, width, lines=3)
    top = _draw_paragraph(canvas, name, size, left, top - 1.5 * mm, width)
    top = _draw_paragraph(canvas, grouped(card.code), 10, left, top - 1.5 * mm, width) - 2 * mm
    for line in CARD_INSTRUCTIONS:
        top = _draw_paragraph(canvas, line, 7.5, left, top, width)


def cards_pdf(cards: Sequence[PrintedCard]) -> bytes:
    """Beneficiary cards on A4 sheets, eight to a page (2 columns × 4 rows), each with the
    holder's name, the card number in groups of 4, the QR code and how to use it."""
    if not cards:
        raise ValueError("a sheet needs at least one card")
    buffer = io.BytesIO()
    texts = [text for card in cards for text in (card.name, card.code)]
    canvas = _new_canvas(buffer, "金豆卡 Goldbean cards", f"{len(cards)} bean card(s)", *texts)
    left = (PAGE_WIDTH - CARD_COLUMNS * CARD_WIDTH) / 2
    bottom = (PAGE_HEIGHT - CARD_ROWS * CARD_HEIGHT) / 2
    for start in range(0, len(cards), CARDS_PER_PAGE):
        for place, card in enumerate(cards[start : start + CARDS_PER_PAGE]):
            row, column = divmod(place, CARD_COLUMNS)
            x = left + column * CARD_WIDTH
            y = bottom + (CARD_ROWS - 1 - row) * CARD_HEIGHT
            _draw_card(canvas, card, x, y)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
