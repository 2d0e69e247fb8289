"""Charts for the consoles, drawn on the server as inline SVG: no script, so the pages' Content-Security-
Policy holds and a chart shows without JavaScript. Each chart names itself (<title>, <desc>) for screen
readers; the figures behind it go in a table beside it, since a picture alone is not accessible.

Colours are the Okabe-Ito palette (Okabe & Ito 2008), told apart with the common colour-vision
deficiencies; stacked segments are also parted by a white line, and every bar carries its number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Okabe-Ito without its yellow (too pale on white for a thin bar).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
GREY = "#8a94a0"
INK = "#1b1f24"
MUTED = "#4a5360"
LINE = "#c9d1da"
FONT = 14
CHAR = 7.6  # mean width of a character at FONT px, to lay out legends and cut labels


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    colour: str = ""


def colours(series: Sequence[Series]) -> list[str]:
    return [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]


def ticks(top: int, most: int = 5) -> list[int]:
    """Whole-number axis ticks from 0 to at least `top`, at 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0, 1]
    raw = top / most
    mag = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    step = max(1, int(step))
    return [i * step for i in range(math.ceil(top / step) + 1)]


def _fmt(n: float) -> str:
    return f"{n:.1f}".rstrip("0").rstrip(".")


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 1)].rstrip() + "…"


def _open(ident: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
         f'aria-labelledby="{ident}-t {ident}-d" font-size="{FONT}" data-chart="{ident}" '
         f'style="max-width:{int(width * 1.35)}px">'),
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(desc)}</desc>',
    ]


def _legend(series: Sequence[Series], x0: float, y: float, width: float) -> tuple[list[str], float]:
    """Swatches and names, wrapping onto more lines; returns the parts and the height used."""
    out: list[str] = []
    x, line = x0, 0
    for s, c in zip(series, colours(series), strict=True):
        w = 20 + len(s.name) * CHAR + 16
        if x > x0 and x + w > width:
            x, line = x0, line + 1
        yy = y + line * 20
        out.append(f'<rect x="{_fmt(x)}" y="{_fmt(yy - 10)}" width="12" height="12" fill="{c}"/>'
                   f'<text x="{_fmt(x + 17)}" y="{_fmt(yy)}" fill="{INK}">{escape(s.name)}</text>')
        x += w
    return out, (line + 1) * 20 if series else 0


def bars(ident: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *,
         stacked: bool = True, width: int = 440, totals: Sequence[str] | None = None) -> Markup:
    """Horizontal bars, one row per label (the label above its bar, so long labels fit), one segment
    (stacked) or one thin bar (grouped) per series; the number at the end of each bar."""
    cols = colours(series)
    legend, lh = _legend(series, 0, 14, width) if len(series) > 1 else ([], 0)
    top_pad = lh + (6 if lh else 0)
    bar_h = 16 if stacked or len(series) == 1 else 11
    band = bar_h if stacked else bar_h * len(series) + 2 * (len(series) - 1)
    row_h = FONT + 6 + band + 12
    height = int(top_pad + row_h * len(labels) + 4)
    room = width - 56  # what the longest bar may take; the rest holds its number
    if stacked:
        biggest = max((sum(s.values[i] for s in series) for i in range(len(labels))), default=0)
    else:
        biggest = max((v for s in series for v in s.values), default=0)
    scale = room / biggest if biggest else 0
    out = _open(ident, title, desc, width, height) + legend
    for i, label in enumerate(labels):
        y = top_pad + i * row_h
        parts = [f"{s.name}: {s.values[i]}" for s in series] if len(series) > 1 else []
        tip = f"{label}: " + (", ".join(parts) if parts else str(series[0].values[i] if series else 0))
        out.append(f"<g><title>{escape(tip)}</title>")
        out.append(f'<text x="0" y="{_fmt(y + FONT)}" fill="{INK}">{escape(_cut(label, int(width / CHAR)))}</text>')
        by = y + FONT + 6
        out.append(f'<line x1="0" x2="0" y1="{_fmt(by - 2)}" y2="{_fmt(by + band + 2)}" stroke="{MUTED}"/>')
        if stacked:
            x = 0.0
            for s, c in zip(series, cols, strict=True):
                w = s.values[i] * scale
                if w > 0:
                    out.append(f'<rect x="{_fmt(x)}" y="{_fmt(by)}" width="{_fmt(w)}" height="{bar_h}" fill="{c}" '
                               f'stroke="#fff" stroke-width="1"/>')
                x += w
            total = totals[i] if totals else str(sum(s.values[i] for s in series))
            out.append(f'<text x="{_fmt(x + 6)}" y="{_fmt(by + bar_h - 3)}" fill="{INK}" font-weight="600">'
                       f"{escape(total)}</text>")
        else:
            for k, (s, c) in enumerate(zip(series, cols, strict=True)):
                yy = by + k * (bar_h + 2)
                w = s.values[i] * scale
                if w > 0:
                    out.append(f'<rect x="0" y="{_fmt(yy)}" width="{_fmt(w)}" height="{bar_h}" fill="{c}"/>')
                out.append(f'<text x="{_fmt(w + 6)}" y="{_fmt(yy + bar_h - 1)}" fill="{INK}" font-size="{FONT - 1}">'
                           f"{s.values[i]}</text>")
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))


def columns(ident: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *,
            y_title: str, x_title: str, width: int = 960, height: int = 320) -> Markup:
    """Stacked columns over time (one column per label, oldest left) with a y axis of whole numbers."""
    cols = colours(series)
    legend, lh = _legend(series, 56, 14, width)
    left, right, top, bottom = 56, 40, lh + 14, 48
    pw, ph = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    ys = ticks(max(totals, default=0))
    scale = ph / ys[-1]
    out = _open(ident, title, desc, width, height) + legend
    for t in ys:
        y = top + ph - t * scale
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{_fmt(y)}" y2="{_fmt(y)}" stroke="{LINE}"/>'
                   f'<text x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end" fill="{MUTED}">{t}</text>')
    out.append(f'<text transform="translate(14 {_fmt(top + ph / 2)}) rotate(-90)" text-anchor="middle" '
               f'fill="{MUTED}">{escape(y_title)}</text>')
    n = max(1, len(labels))
    band = pw / n
    bw = max(1.0, band * 0.72)
    every = max(1, math.ceil((max((len(x) for x in labels), default=1) * CHAR + 14) / band))
    for i, label in enumerate(labels):
        x = left + i * band + (band - bw) / 2
        tip = f"{label}: {totals[i]}" + (" (" + ", ".join(f"{s.name} {s.values[i]}" for s in series
                                                          if s.values[i]) + ")" if totals[i] else "")
        out.append(f"<g><title>{escape(tip)}</title>")
        y = top + ph
        for s, c in zip(series, cols, strict=True):
            h = s.values[i] * scale
            if h > 0:
                y -= h
                edge = ' stroke="#fff" stroke-width="1"' if bw >= 6 else ""
                out.append(f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(bw)}" height="{_fmt(h)}" fill="{c}"{edge}/>')
        # An invisible full-height target so the tooltip shows over short columns too.
        out.append(f'<rect x="{_fmt(left + i * band)}" y="{top}" width="{_fmt(band)}" height="{ph}" fill="transparent"/>')
        out.append("</g>")
        if i % every == 0:
            cx = left + i * band + band / 2
            out.append(f'<line x1="{_fmt(cx)}" x2="{_fmt(cx)}" y1="{top + ph}" y2="{top + ph + 4}" stroke="{MUTED}"/>'
                       f'<text x="{_fmt(cx)}" y="{top + ph + 18}" text-anchor="middle" fill="{MUTED}">{escape(label)}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{top + ph}" y2="{top + ph}" stroke="{INK}"/>'
               f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" stroke="{INK}"/>')
    out.append(f'<text x="{_fmt(left + pw / 2)}" y="{height - 6}" text-anchor="middle" fill="{MUTED}">'
               f"{escape(x_title)}</text>")
    out.append("</svg>")
    return Markup("".join(out))
