"""A small line chart as SVG text: the backlog over time, with no plotting dependency."""

from __future__ import annotations

import math
from html import escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 36, 44


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= raw)


def line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    colours: tuple[str, ...] = ("#1f77b4", "#d62728", "#2ca02c"),
    marker_x: float | None = None,
    marker_label: str = "",
) -> str:
    points = [point for values in series.values() for point in values]
    x_max = max((x for x, _ in points), default=1.0) or 1.0
    y_max = max((y for _, y in points), default=1.0) or 1.0
    x_step, y_step = nice_step(x_max), nice_step(y_max)
    x_top = math.ceil(x_max / x_step) * x_step
    y_top = math.ceil(y_max / y_step) * y_step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + x / x_top * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - y / y_top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
    ]
    tick = 0.0
    while tick <= y_top + 1e-9:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(tick):.1f}" y2="{sy(tick):.1f}" '
            'stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
        tick += y_step
    tick = 0.0
    while tick <= x_top + 1e-9:
        parts.append(
            f'<line x1="{sx(tick):.1f}" x2="{sx(tick):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" '
            f'stroke="#333"/><text x="{sx(tick):.1f}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle">{tick:g}</text>'
        )
        tick += x_step
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#333"/>'
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#333"/>'
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text transform="translate(14 {TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    if marker_x is not None:
        parts.append(
            f'<line x1="{sx(marker_x):.1f}" x2="{sx(marker_x):.1f}" y1="{TOP}" y2="{TOP + plot_h}" '
            f'stroke="#999" stroke-dasharray="4 3"/><text x="{sx(marker_x) - 4:.1f}" y="{TOP + 12}" '
            f'text-anchor="end" fill="#666">{escape(marker_label)}</text>'
        )
    for index, (name, values) in enumerate(series.items()):
        colour = colours[index % len(colours)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{path}"/>')
        legend_y = TOP + 14 + index * 14
        parts.append(
            f'<line x1="{LEFT + 10}" x2="{LEFT + 28}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
            f'stroke="{colour}" stroke-width="2"/><text x="{LEFT + 32}" y="{legend_y}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
