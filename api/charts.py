"""Inline SVG charts for the fund report page: no JavaScript, nothing fetched.

Two charts, each a self-contained ``<svg>`` with ``<title>``, ``<desc>`` and text labels:

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
from typing import Any

BALANCE_COLOUR = "#1f6f3f"
LIABILITY_COLOUR = "#b4591b"
BAR_COLOUR = "#c9a227"

#: (Chinese, English) labels of the bean flows, in chart order, with how to read them.
FLOW_LABELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("发放", "Issued", ("issued", "total")),
    ("兑换", "Redeemed", ("redeemed",)),
    ("退还", "Refunded", ("refunded",)),
    ("赠送", "Gifted", ("gifted",)),
    ("回收", "Retired", ("retired",)),
    ("更正", "Corrected", ("corrected",)),
)

_WIDTH = 640
_HEIGHT = 300


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


def _text(x: float, y: float, text: str, anchor: str = "middle", size: int = 12) -> str:
    """One escaped ``<text>`` element."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}">'
        f"{escape(text)}</text>"
    )


def _open_svg(ident: str, title: str, desc: str) -> str:
    """The opening ``<svg>`` tag with its accessible title and description."""
    return (
        f'<svg id="{ident}" viewBox="0 0 {_WIDTH} {_HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="sans-serif">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>'
    )


def bean_flow_svg(report: dict[str, Any]) -> str:
    """A bar chart of the month's bean flows as an inline ``<svg>`` element."""
    flows = bean_flows(report)
    left, right, top, bottom = 20, 20, 40, 60
    plot_w, plot_h = _WIDTH - left - right, _HEIGHT - top - bottom
    low, high = value_range([v for _, _, v in flows])
    zero_y = top + plot_h * high / (high - low)
    slot = plot_w / len(flows)
    desc = "; ".join(f"{zh} {en}: {v:,}" for zh, en, v in flows)
    parts = [
        _open_svg("bean-flows", f"本月金豆流向 Bean flows {report['period']}", desc),
        _text(_WIDTH / 2, 20, f"本月金豆流向 Bean flows ({report['period']})", size=14),
        f'<line x1="{left}" y1="{zero_y:.1f}" x2="{_WIDTH - right}" y2="{zero_y:.1f}" '
        'stroke="#555"/>',
    ]
    for i, (zh, en, value) in enumerate(flows):
        x = left + slot * i + slot * 0.2
        y_value = top + plot_h * (high - value) / (high - low)
        y, height = min(y_value, zero_y), abs(zero_y - y_value)
        centre = x + slot * 0.3
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.6:.1f}" height="{height:.1f}" '
            f'fill="{BAR_COLOUR}"><title>{escape(f"{zh} {en}: {value:,}")}</title></rect>'
        )
        parts.append(_text(centre, y - 5, f"{value:,}"))
        parts.append(_text(centre, _HEIGHT - bottom + 20, zh))
        parts.append(_text(centre, _HEIGHT - bottom + 38, en, size=11))
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
        parts.append(_text(left - 6, y + 4, label, anchor="end", size=11))
    return parts


def _legend(x: float, y: float) -> list[str]:
    """The two-line legend: balance solid, liability dashed."""
    return [
        f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{BALANCE_COLOUR}" '
        'stroke-width="2.5"/>',
        _text(x + 30, y + 4, "余额 Balance", anchor="start"),
        f'<line x1="{x + 140}" y1="{y}" x2="{x + 164}" y2="{y}" stroke="{LIABILITY_COLOUR}" '
        'stroke-width="2.5" stroke-dasharray="6 4"/>',
        _text(x + 170, y + 4, "负债 Liability", anchor="start"),
    ]


def fund_history_svg(history: Sequence[dict[str, Any]], money: Callable[[int], str]) -> str:
    """A line chart of the fund's month-end balance and liability as an inline ``<svg>``.

    ``history`` is ``[{"period", "balance_end_fen", "liability_end_fen"}, ...]`` in period
    order; ``money`` formats a fen amount for the axis and the point labels. No history
    gives a chart frame with a "no data yet" note.
    """
    title = "基金余额与负债 Fund balance and liability"
    if not history:
        return (
            _open_svg("fund-history", title, "暂无历史数据 No history yet")
            + _text(_WIDTH / 2, _HEIGHT / 2, "暂无历史数据 / no history yet", size=14)
            + "</svg>"
        )
    balances = [int(h["balance_end_fen"]) for h in history]
    liabilities = [int(h["liability_end_fen"]) for h in history]
    periods = [str(h["period"]) for h in history]
    left, top, width, height = 100.0, 50.0, _WIDTH - 130.0, _HEIGHT - 100.0
    scale = axis_scale(balances + liabilities, unit=100)
    low, high, _ = scale
    xs = _x_positions(len(history), left, width)

    def y_of(value: int) -> float:
        return top + height * (high - value) / (high - low)

    desc = "; ".join(
        f"{p}: 余额 balance {money(b)}, 负债 liability {money(li)}"
        for p, b, li in zip(periods, balances, liabilities, strict=True)
    )
    parts = [_open_svg("fund-history", title, desc), _text(_WIDTH / 2, 20, title, size=14)]
    parts += _legend(left, 38)
    parts += _history_axes(scale, (left, top, width, height), money)
    step = -(-len(periods) // 6)  # at most six period labels, counted back from the last
    for i, (x, period) in enumerate(zip(xs, periods, strict=True)):
        if (len(periods) - 1 - i) % step == 0:
            parts.append(_text(x, top + height + 20, period, size=11))
    for values, colour, dash, name in (
        (balances, BALANCE_COLOUR, "", "余额 balance"),
        (liabilities, LIABILITY_COLOUR, ' stroke-dasharray="6 4"', "负债 liability"),
    ):
        points = [(x, y_of(v)) for x, v in zip(xs, values, strict=True)]
        labels = [f"{p} {name} {money(v)}" for p, v in zip(periods, values, strict=True)]
        parts += _line_series(points, colour, dash, labels)
    parts.append("</svg>")
    return "".join(parts)
