"""Inline SVG charts for the fund report page: no JavaScript, nothing fetched.

Two charts, each a self-contained ``<svg>`` with ``<title>``, ``<desc>`` and text labels in
the reader's language (the page passes its translated words), 360 units wide so that a
phone draws them about 1:1 and the text stays legible:

* :func:`bean_flow_svg` -- bars of the month's bean flows (issued, redeemed, refunded,
  gifted, retired, corrected);
* :func:`fund_history_svg` -- the fund's balance and liability at each month's end.

The ``xmlns`` attribute is left out on purpose: inside an HTML5 document the parser puts
``<svg>`` in the SVG namespace, and the page then holds no URL at all.

:func:`bean_flows` and :func:`axis_scale` are shared with the PDF charts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any, NamedTuple

BALANCE_COLOUR = "#1f6f3f"
LIABILITY_COLOUR = "#b4591b"
BAR_COLOUR = "#c9a227"

#: (Chinese, English) labels of the bean flows, in chart order, with how to read them.
FLOW_LABELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("发放", "Issued", ("issued", "total")),
    ("兑换", "Redeemed", ("redeemed",)),
    ("退款", "Refunded", ("refunded",)),
    ("赠送", "Gifted", ("gifted",)),
    ("回收", "Retired", ("retired",)),
    ("更正", "Corrected", ("corrected",)),
)

_WIDTH = 360  # drawn about 1:1 on a phone, so 12-13 px text stays 12-13 px
_TEXT = 13


class ChartWords(NamedTuple):
    """The words of the fund history chart, in the reader's language."""

    title: str
    balance: str
    liability: str
    no_history: str


def bean_flows(report: dict[str, Any]) -> list[tuple[str, str, int]]:
    """``(zh, en, beans)`` for each bean flow of the report's month, in chart order."""
    flows = []
    for zh, en, path in FLOW_LABELS:
        value: Any = report["beans"]
        for key in path:
            value = value[key]
        flows.append((zh, en, int(value)))
    return flows


def value_range(values: Sequence[int]) -> tuple[int, int]:
    """``(low, high)`` spanning 0 and every value, never empty (``high > low``)."""
    low = min([0, *values])
    high = max([0, *values])
    if high == low:
        high = low + 1
    return low, high


def nice_step(span: int, unit: int = 1) -> int:
    """The smallest step of 1, 2 or 5 times a power of ten times ``unit`` that covers
    ``span`` in at most five steps."""
    magnitude = unit
    while True:
        for factor in (1, 2, 5):
            if span <= 5 * factor * magnitude:
                return factor * magnitude
        magnitude *= 10


def axis_scale(values: Sequence[int], unit: int = 1) -> tuple[int, int, int]:
    """``(low, high, step)`` of a value axis: round integer ticks spanning 0 and the values.

    ``low`` and ``high`` are multiples of ``step``, and ``step`` a multiple of ``unit``
    (100 keeps money ticks on whole yuan). All-zero values still give ``high > low``.
    """
    low, high = value_range(values)
    step = nice_step(high - low, unit)
    return (low // step) * step, -(-high // step) * step, step


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = _TEXT) -> str:
    """One escaped ``<text>`` element."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}">'
        f"{escape(text)}</text>"
    )


def _open_svg(ident: str, title: str, desc: str, height: float) -> str:
    """The opening ``<svg>`` tag with its accessible title and description."""
    return (
        f'<svg id="{ident}" viewBox="0 0 {_WIDTH} {height:.0f}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="sans-serif">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
    )


def bean_flow_svg(report: dict[str, Any], names: Sequence[str], title: str) -> str:
    """The month's bean flows as horizontal bars in an inline ``<svg>``: one row a flow,
    its name on the left and its number after the bar, so it reads on a 360 px phone.

    ``names`` are the flows' names in the reader's language, in :data:`FLOW_LABELS` order.
    """
    values = [value for _, _, value in bean_flows(report)]
    label_w, row_h, top = 112.0, 34.0, 8.0
    bar_left, bar_right = label_w + 8, _WIDTH - 64.0
    high = max([1, *values])
    height = top + row_h * len(values) + 4
    desc = "; ".join(f"{name}: {value:,}" for name, value in zip(names, values, strict=True))
    parts = [_open_svg("bean-flows", title, desc, height)]
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        y = top + row_h * i
        width = (bar_right - bar_left) * max(value, 0) / high
        parts.append(_text(label_w, y + 21, name, anchor="end"))
        parts.append(
            f'<rect x="{bar_left:.1f}" y="{y + 7:.1f}" width="{width:.1f}" height="20" '
            f'fill="{BAR_COLOUR}"><title>{escape(f"{name}: {value:,}")}</title></rect>'
        )
        parts.append(_text(bar_left + width + 6, y + 21, f"{value:,}", anchor="start"))
    parts.append("</svg>")
    return "".join(parts)


def _x_positions(count: int, left: float, width: float) -> list[float]:
    """Evenly spread x positions; a single point sits in the middle."""
    if count == 1:
        return [left + width / 2]
    return [left + width * i / (count - 1) for i in range(count)]


def _line_series(
    points: Sequence[tuple[float, float]], colour: str, dash: str, labels: Sequence[str]
) -> list[str]:
    """A polyline (when there are two points or more) and a marker per point."""
    parts = []
    if len(points) > 1:
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>'
        )
    for (x, y), label in zip(points, labels, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
            f"<title>{escape(label)}</title></circle>"
        )
    return parts


def _history_axes(
    scale: tuple[int, int, int],
    box: tuple[float, float, float, float],
    money: Callable[[int], str],
) -> list[str]:
    """Horizontal grid lines with whole-yuan labels at each step of the scale."""
    low, high, step = scale
    left, top, width, height = box
    parts = []
    for value in range(low, high + 1, step):
        y = top + height * (high - value) / (high - low)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        label = money(value).removesuffix(".00")
        parts.append(_text(left - 4, y + 4, label, anchor="end", size=12))
    return parts


def _legend(x: float, y: float, words: ChartWords) -> list[str]:
    """The two-line legend: balance solid, liability dashed."""
    return [
        f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{BALANCE_COLOUR}" '
        'stroke-width="2.5"/>',
        _text(x + 30, y + 5, words.balance, anchor="start"),
        f'<line x1="{x + 150}" y1="{y}" x2="{x + 174}" y2="{y}" stroke="{LIABILITY_COLOUR}" '
        'stroke-width="2.5" stroke-dasharray="6 4"/>',
        _text(x + 180, y + 5, words.liability, anchor="start"),
    ]


def _period_label_anchor(i: int, count: int) -> str:
    """The first label starts at its point and the last ends at it, so neither is cut."""
    if count > 1 and i == 0:
        return "start"
    if count > 1 and i == count - 1:
        return "end"
    return "middle"


def fund_history_svg(
    history: Sequence[dict[str, Any]],
    money: Callable[[int], str],
    words: ChartWords,
    month: Callable[[str], str] = str,
) -> str:
    """A line chart of the fund's month-end balance and liability as an inline ``<svg>``.

    ``history`` is ``[{"period", "balance_end_fen", "liability_end_fen"}, ...]`` in period
    order; ``money`` formats a fen amount for the axis and the point labels; ``words`` are
    the title and legend in the reader's language; ``month`` writes a ``2026-05``
    period for the reader (api/dates.py). At most four month labels are written
    (they fit a phone), the last month's always. No history gives a frame with a note.
    """
    if not history:
        return (
            _open_svg("fund-history", words.title, words.no_history, 120)
            + _text(_WIDTH / 2, 60, words.no_history)
            + "</svg>"
        )
    balances = [int(h["balance_end_fen"]) for h in history]
    liabilities = [int(h["liability_end_fen"]) for h in history]
    periods = [month(str(h["period"])) for h in history]
    left, top, width, height = 64.0, 36.0, _WIDTH - 76.0, 170.0
    total_height = top + height + 30
    scale = axis_scale(balances + liabilities, unit=100)
    low, high, _ = scale
    xs = _x_positions(len(history), left, width)

    def y_of(value: int) -> float:
        return top + height * (high - value) / (high - low)

    desc = "; ".join(
        f"{p}: {words.balance} {money(b)}, {words.liability} {money(li)}"
        for p, b, li in zip(periods, balances, liabilities, strict=True)
    )
    parts = [_open_svg("fund-history", words.title, desc, total_height)]
    parts += _legend(left, 14, words)
    parts += _history_axes(scale, (left, top, width, height), money)
    step = -(-len(periods) // 4)  # at most four month labels, counted back from the last
    for i, (x, period) in enumerate(zip(xs, periods, strict=True)):
        if (len(periods) - 1 - i) % step == 0:
            anchor = _period_label_anchor(i, len(periods))
            parts.append(_text(x, top + height + 22, period, anchor=anchor, size=12))
    for values, colour, dash, name in (
        (balances, BALANCE_COLOUR, "", words.balance),
        (liabilities, LIABILITY_COLOUR, ' stroke-dasharray="6 4"', words.liability),
    ):
        points = [(x, y_of(v)) for x, v in zip(xs, values, strict=True)]
        labels = [f"{p} {name} {money(v)}" for p, v in zip(periods, values, strict=True)]
        parts += _line_series(points, colour, dash, labels)
    parts.append("</svg>")
    return "".join(parts)
