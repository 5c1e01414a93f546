"""A small line plot drawn with Pillow (matplotlib is not a dependency of ptpd).

``line_plot(path, title, xlabel, ylabel, series, xlog=True)`` writes a PNG with axes,
ticks, a grid, one polyline per series (with markers, or without for dense series such
as a rate over time), an optional dashed goal line and a legend. Enough for the
benchmarks' plots; nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=mag * 10)
    start = math.floor(lo / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < hi - step * 1e-9:  # the last tick is at or above the highest value
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def line_plot(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    *,
    xlog: bool = True,
    goal: tuple[str, float] | None = None,
    ymin: float | None = 0.0,
    size: tuple[int, int] = (900, 560),
    markers: bool = True,
) -> Path:
    """Draw ``series`` = [(label, xs, ys), ...] and save a PNG at ``path``."""
    w, h = size
    left, right, top, bottom = 90, 30, 60, 80
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    f_title, f_axis, f_tick = _font(20), _font(15), _font(13)

    xs_all = [x for _, xs, _ in series for x in xs if x == x]
    ys_all = [y for _, _, ys in series for y in ys if y == y]
    if goal:
        ys_all.append(goal[1])
    if not xs_all or not ys_all:
        xs_all, ys_all = [1.0, 2.0], [0.0, 1.0]
    tx = (lambda v: math.log10(v)) if xlog else (lambda v: v)
    x_lo, x_hi = tx(min(xs_all)), tx(max(xs_all))
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    pad = (x_hi - x_lo) * 0.05
    x_lo, x_hi = x_lo - pad, x_hi + pad
    y_ticks = _nice_ticks(min(ys_all) if ymin is None else min(ymin, min(ys_all)), max(ys_all) * 1.08)
    y_lo, y_hi = y_ticks[0], y_ticks[-1]

    def px(x: float) -> float:
        return left + (tx(x) - x_lo) / (x_hi - x_lo) * (w - left - right)

    def py(y: float) -> float:
        return h - bottom - (y - y_lo) / (y_hi - y_lo) * (h - top - bottom)

    # grid and ticks
    for yt in y_ticks:
        y = py(yt)
        d.line([(left, y), (w - right, y)], fill=(225, 225, 225))
        label = f"{yt:g}"
        d.text((left - 8 - d.textlength(label, font=f_tick), y - 7), label, fill="black", font=f_tick)
    xt_vals = sorted({x for _, xs, _ in series for x in xs})
    if not markers or len(xt_vals) > 12:  # a dense series: round ticks, not one per point
        lo_x, hi_x = min(xs_all), max(xs_all)
        xt_vals = [t for t in _nice_ticks(lo_x if xlog else min(0.0, lo_x), hi_x) if (t > 0 or not xlog)]
        if not xlog:  # the axis runs from tick to tick
            x_lo, x_hi = xt_vals[0], xt_vals[-1]
    for xt in xt_vals:
        x = px(xt)
        d.line([(x, top), (x, h - bottom)], fill=(235, 235, 235))
        label = f"{xt:g}"
        d.text((x - d.textlength(label, font=f_tick) / 2, h - bottom + 6), label, fill="black", font=f_tick)
    d.rectangle([left, top, w - right, h - bottom], outline="black")

    if goal:
        gy = py(goal[1])
        x = left
        while x < w - right:
            d.line([(x, gy), (min(x + 8, w - right), gy)], fill=(120, 120, 120), width=2)
            x += 14
        d.text((w - right - 8 - d.textlength(goal[0], font=f_tick), gy - 18), goal[0], fill=(90, 90, 90), font=f_tick)

    for i, (label, xs, ys) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        pts = [(px(x), py(y)) for x, y in zip(xs, ys) if y == y]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=3 if markers else 2)
        for x, y in pts if markers else ():
            d.ellipse([x - 5, y - 5, x + 5, y + 5], fill=colour, outline="white")
        ly = h - bottom - 8 - (len(series) - i) * 22 if markers else top + 8 + i * 22  # clear of the curves
        d.rectangle([left + 12, ly + 4, left + 30, ly + 14], fill=colour)
        d.text((left + 36, ly), label, fill="black", font=f_axis)

    d.text(((w - d.textlength(title, font=f_title)) / 2, 18), title, fill="black", font=f_title)
    d.text(((w - d.textlength(xlabel, font=f_axis)) / 2, h - 40), xlabel, fill="black", font=f_axis)
    ylab = Image.new("RGBA", (int(d.textlength(ylabel, font=f_axis)) + 4, 20), (255, 255, 255, 0))
    ImageDraw.Draw(ylab).text((2, 0), ylabel, fill="black", font=f_axis)
    ylab = ylab.rotate(90, expand=True)
    img.paste(ylab, (12, int(top + (h - top - bottom - ylab.height) / 2)), ylab)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
