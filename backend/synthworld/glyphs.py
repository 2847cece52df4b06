"""Script-like glyph rows for signs and shop fronts: each script has its own shape grammar.

No real text is drawn; what differs is structure a model can see at low resolution: Latin
strokes in short words, Cyrillic with more filled blocks, Arabic on a joined baseline with
dots, Devanagari/Bengali hanging from a head line, CJK square blocks with inner grids,
Hangul blocks with circles, Thai/Georgian/Armenian/Ethiopic/Tamil round loops (each with
its own size, height and tails), 'other' scattered marks.

Usage::

    draw_glyph_row(draw, (x0, y0, x1, y1), "cyrillic", seed=42, colour=(255, 255, 255))
"""

from __future__ import annotations

import numpy as np
from PIL import ImageDraw

from backend.synthworld.styles import RGB

_LOOPED = ("thai", "georgian", "armenian", "ethiopic", "tamil")


def draw_glyph_row(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float],
                   script: str, *, seed: int, colour: RGB) -> None:
    """Draw one line of pseudo-text in ``script``'s style inside ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 2 or h < 1.5:
        return
    rng = np.random.default_rng(seed)
    lw = max(1, int(h / 5))
    if script in ("arabic", "hebrew"):
        if script == "arabic":
            base = y0 + h * 0.7
            draw.line((x0 + w * rng.uniform(0.05, 0.3), base, x1, base), fill=colour, width=lw)
            for _ in range(int(w / max(h * 0.6, 1)) + 1):
                x = rng.uniform(x0, x1)
                if rng.random() < 0.5:
                    draw.line((x, y0 + h * 0.1, x, base), fill=colour, width=lw)
                else:
                    dy = -h * 0.35 if rng.random() < 0.6 else h * 0.25
                    draw.point((x, base + dy), fill=colour)
        else:
            x = x1
            while x - h * 0.6 > x0:
                draw.line((x - h * 0.55, y0 + h * 0.2, x, y0 + h * 0.2), fill=colour, width=lw)
                draw.line((x, y0 + h * 0.2, x, y1), fill=colour, width=lw)
                x -= h * rng.uniform(0.7, 1.0)
        return
    if script in ("devanagari", "bengali"):
        draw.line((x0, y0 + h * 0.15, x1, y0 + h * 0.15), fill=colour, width=lw)
        x = x0
        while x < x1:
            draw.line((x, y0 + h * 0.15, x, y0 + h * rng.uniform(0.6, 1.0)), fill=colour, width=lw)
            if script == "bengali":  # Bengali: a triangular loop under the head line
                draw.polygon([(x, y0 + h * 0.15), (x + h * 0.3, y0 + h * 0.55),
                              (x, y0 + h * 0.55)], outline=colour)
            x += h * rng.uniform(0.35, 0.7)
        return
    if script in ("cjk", "hangul"):
        x = x0
        while x + h * 0.8 <= x1:
            draw.rectangle((x, y0, x + h * 0.8, y1), outline=colour, width=lw)
            if script == "cjk":
                draw.line((x, y0 + h / 2, x + h * 0.8, y0 + h / 2), fill=colour, width=lw)
                draw.line((x + h * 0.4, y0, x + h * 0.4, y1), fill=colour, width=lw)
            else:
                draw.ellipse((x + h * 0.2, y0 + h * 0.2, x + h * 0.6, y0 + h * 0.6), outline=colour)
            x += h * 1.1
        return
    if script in _LOOPED:
        # each looped script has its own loop size, height and tail: (radius, raised, tail)
        r_f, raised, tail = {"thai": (0.3, False, "up"), "georgian": (0.3, False, "down"),
                             "armenian": (0.25, True, "down"), "ethiopic": (0.2, True, "feet"),
                             "tamil": (0.4, False, "hook")}[script]
        x = x0
        while x + h * 0.6 <= x1:
            r = h * r_f
            top = y0 if raised else y1 - 2 * r
            draw.ellipse((x, top, x + 2 * r, top + 2 * r), outline=colour, width=lw)
            if rng.random() < 0.6:
                if tail == "up":
                    draw.line((x + 2 * r, top + r, x + 2 * r, y0), fill=colour, width=lw)
                elif tail == "down":
                    draw.line((x + 2 * r, top + r, x + 2 * r, y1), fill=colour, width=lw)
                elif tail == "feet":
                    draw.line((x, top + 2 * r, x, y1), fill=colour, width=lw)
                    draw.line((x + 2 * r, top + 2 * r, x + 2 * r, y1), fill=colour, width=lw)
                else:
                    draw.line((x + r, top, x + 2.5 * r, top), fill=colour, width=lw)
            x += h * rng.uniform(0.6, 0.9)
        return
    if script == "other":
        for _ in range(int(w / max(h * 0.3, 1))):
            draw.point((rng.uniform(x0, x1), rng.uniform(y0, y1)), fill=colour)
        return
    # latin, cyrillic, greek: words of strokes
    x = x0
    while x < x1:
        for _ in range(int(rng.integers(2, 6))):
            if x >= x1:
                break
            top = y0 if rng.random() < 0.3 else y0 + h * 0.35
            if script == "cyrillic" and rng.random() < 0.35:
                draw.rectangle((x, top, x + h * 0.3, y1), fill=colour)
                x += h * 0.5
            elif script == "greek" and rng.random() < 0.35:
                draw.polygon([(x, y1), (x + h * 0.25, top), (x + h * 0.5, y1)], outline=colour)
                x += h * 0.6
            else:
                draw.line((x, top, x, y1), fill=colour, width=lw)
                x += h * rng.uniform(0.25, 0.45)
        x += h * 0.6
