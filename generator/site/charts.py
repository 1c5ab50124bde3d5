"""Charts drawn at build time: inline SVG line and bar charts, and the cross-activation heatmap image.

The templates call the chart functions and pass every title and axis label, so the
words stay in the templates. Those texts are escaped here unless they are already
markup (a caption macro's output), so the SVG can be inserted as it is.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
MARGIN = dict(left=64, right=16, top=16, bottom=44)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 0.001:
        if value >= low - step * 0.001:
            ticks.append(round(value, 10))
        value += step
    return ticks


def _label(value: float) -> str:
    if abs(value) < 1e-12:
        return "0"
    if abs(value) >= 10000:
        return f"{value / 1000:,.0f}k"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2g}"


def _frame(title: str, x_label: str, y_label: str, y_ticks: list[float], y_of: Callable[[float], float],
           x_ticks: list[float], x_of: Callable[[float], float]) -> list[str]:
    left, bottom = MARGIN["left"], HEIGHT - MARGIN["bottom"]
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{MARGIN["top"]}" x2="{left}" y2="{bottom}" class="axis"/>',
        f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - MARGIN["right"]}" y2="{bottom}" class="axis"/>',
    ]
    for tick in y_ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{WIDTH - MARGIN["right"]}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{_label(tick)}</text>')
    for tick in x_ticks:
        x = x_of(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" class="axis"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{_label(tick)}</text>')
    parts.append(f'<text x="{(left + WIDTH - MARGIN["right"]) / 2:.0f}" y="{HEIGHT - 6}" '
                 f'text-anchor="middle" class="label">{escape(x_label)}</text>')
    parts.append(f'<text transform="translate(14 {(MARGIN["top"] + bottom) / 2:.0f}) rotate(-90)" '
                 f'text-anchor="middle" class="label">{escape(y_label)}</text>')
    return parts


def line_chart(values: Sequence[float | None], title: str, x_label: str, y_label: str,
               threshold: float | None = None, marker: tuple[int, str] | None = None) -> Markup:
    """Loss curve: step (1-based) -> value; missing (non-finite) values break the line.

    `marker` (step, label) draws a vertical line after that step, e.g. where the objective changed.
    """
    finite = [v for v in values if v is not None]
    low = min(finite + [0.0]) if finite else 0.0
    high = max(finite + ([threshold] if threshold else [])) if finite else 1.0
    y_ticks = _nice_ticks(low, high)
    y_low, y_high = min(y_ticks[0], low), max(y_ticks[-1], high)
    if y_high <= y_low:
        y_high = y_low + 1
    steps = max(len(values), 2)
    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]

    def x_of(step: float) -> float:
        return MARGIN["left"] + (step - 1) / (steps - 1) * plot_w

    def y_of(value: float) -> float:
        return MARGIN["top"] + (1 - (value - y_low) / (y_high - y_low)) * plot_h

    x_ticks = [t for t in _nice_ticks(1, steps) if t >= 1 and t == int(t)] or [1]
    parts = _frame(title, x_label, y_label, y_ticks, y_of, x_ticks, x_of)
    if threshold is not None:
        y = y_of(threshold)
        parts.append(f'<line x1="{MARGIN["left"]}" y1="{y:.1f}" x2="{WIDTH - MARGIN["right"]}" y2="{y:.1f}" '
                     'class="threshold"/>')
        parts.append(f'<text x="{WIDTH - MARGIN["right"] - 4}" y="{y - 4:.1f}" text-anchor="end" '
                     f'class="threshold-label">threshold {_label(threshold)}</text>')
    if marker is not None:
        x = x_of(marker[0] + 0.5)
        parts.append(f'<line x1="{x:.1f}" y1="{MARGIN["top"]}" x2="{x:.1f}" y2="{HEIGHT - MARGIN["bottom"]}" '
                     'class="threshold"/>')
        parts.append(f'<text x="{x + 4:.1f}" y="{MARGIN["top"] + 12}" class="threshold-label">'
                     f'{escape(marker[1])}</text>')
    parts += _series(values, x_of, y_of)
    parts.append("</svg>")
    return Markup("".join(parts))


def _series(values: Sequence[float | None], x_of: Callable[[float], float],
            y_of: Callable[[float], float]) -> list[str]:
    """The curve as polylines, broken where a value is missing; a lone point is drawn as a dot."""
    segments: list[list[str]] = [[]]
    for step, value in enumerate(values, start=1):
        if value is None:
            segments.append([])
        else:
            segments[-1].append(f"{x_of(step):.1f},{y_of(value):.1f}")
    parts = []
    for points in (segment for segment in segments if segment):
        parts.append(f'<polyline points="{" ".join(points)}" class="series"/>')
        if len(points) == 1:
            x, y = points[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" class="series-dot"/>')
    return parts


def bar_chart(values: Sequence[float | None], target: int, title: str, x_label: str, y_label: str) -> Markup:
    """All C feature-map means of one image; the target bar and its level are highlighted."""
    clean = [0.0 if v is None else v for v in values]
    high = max(clean + [1e-9])
    y_ticks = _nice_ticks(0.0, high)
    y_high = max(y_ticks[-1], high)
    count = len(clean)
    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
    bar_w = plot_w / count

    def x_of(index: float) -> float:
        return MARGIN["left"] + (index + 0.5) * bar_w

    def y_of(value: float) -> float:
        return MARGIN["top"] + (1 - value / y_high) * plot_h

    x_ticks = [t for t in _nice_ticks(0, count - 1, 8) if t == int(t) and t < count]
    parts = _frame(title, x_label, y_label, y_ticks, y_of, x_ticks, x_of)
    bottom = HEIGHT - MARGIN["bottom"]
    level = clean[target] if 0 <= target < count else None
    # Plain and rival bars as one path each (a 512-map layer would need 512 elements otherwise);
    # the target keeps its own element with its value as a tooltip.
    paths: dict[str, list[str]] = {"bar": [], "bar rival": []}
    for index, value in enumerate(clean):
        if value <= 0 or index == target:
            continue
        kind = "bar rival" if level is not None and value >= level else "bar"
        x = MARGIN["left"] + index * bar_w
        paths[kind].append(f"M{x:.1f} {bottom}V{y_of(value):.1f}h{max(bar_w - 0.3, 0.5):.2f}V{bottom}z")
    for kind, segments in paths.items():
        if segments:
            parts.append(f'<path class="{kind}" d="{"".join(segments)}"/>')
    if level is not None and level > 0:
        y = y_of(level)
        parts.append(f'<rect x="{MARGIN["left"] + target * bar_w:.2f}" y="{y:.1f}" width="{max(bar_w, 3.0):.2f}" '
                     f'height="{bottom - y:.1f}" class="bar target"><title>map {target}: {level:.4g}</title></rect>')
    if level is not None:
        y = y_of(level)
        parts.append(f'<line x1="{MARGIN["left"]}" y1="{y:.1f}" x2="{WIDTH - MARGIN["right"]}" y2="{y:.1f}" '
                     'class="threshold"/>')
        x = x_of(target)
        parts.append(f'<text x="{min(max(x, MARGIN["left"] + 30), WIDTH - 60):.1f}" y="{MARGIN["top"] + 10}" '
                     f'text-anchor="middle" class="threshold-label">map {target}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def heatmap_pixels(rows: list[list[float | None]]) -> np.ndarray:
    """Cross-activation matrix (images x maps) as RGB pixels, one per cell, each row scaled to its max.

    Per-row scaling shows, for each image, which maps it drives relative to its own strongest one,
    whatever the image's overall level.
    """
    matrix = np.array([[0.0 if v is None else v for v in row] for row in rows], dtype=np.float64)
    peak = matrix.max(axis=1, keepdims=True)
    scaled = np.divide(matrix, peak, out=np.zeros_like(matrix), where=peak > 0).clip(0, 1)
    # a perceptually ordered ramp: near-white -> blue -> dark navy
    stops = np.array([[247, 251, 255], [107, 174, 214], [33, 113, 181], [8, 48, 107]], dtype=np.float64)
    position = scaled * (len(stops) - 1)
    low = np.floor(position).astype(int).clip(0, len(stops) - 2)
    frac = (position - low)[..., None]
    colours = stops[low] * (1 - frac) + stops[low + 1] * frac
    return colours.round().astype(np.uint8)
