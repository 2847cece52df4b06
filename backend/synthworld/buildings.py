"""Buildings: how many and how tall follow population density; facades tint by region.

Flat roofs in hot and dry climates (and on tall blocks), pitched roofs elsewhere; windows in
rows; some ground floors carry a shop sign written in the country's script.

Usage::

    draw_building(ctx, obj, sx, sy, ppm)
"""

from __future__ import annotations

import colorsys

from backend.synthworld.canvas import DrawContext
from backend.synthworld.glyphs import draw_glyph_row
from backend.synthworld.layout import WorldObject


def draw_building(ctx: DrawContext, obj: WorldObject, sx: float, sy: float, ppm: float) -> None:
    """A box facade with windows, a roof and sometimes a shop sign."""
    p = obj.params
    w, h = p["width"] * ppm, p["height"] * ppm
    r, g, b = colorsys.hsv_to_rgb(p["hue"], p["sat"], 0.85)
    wall = ctx.lit((r * 255, g * 255, b * 255))
    draw = ctx.draw
    x0, x1, top = sx - w / 2, sx + w / 2, sy - h
    draw.rectangle((x0, top, x1, sy), fill=wall)
    roof = ctx.lit((120, 60, 45) if p["hue"] < 0.5 else (70, 70, 80))
    if p["flat"]:
        draw.rectangle((x0 - 0.3 * ppm, top - 0.4 * ppm, x1 + 0.3 * ppm, top), fill=ctx.lit((90, 90, 90)))
    else:
        draw.polygon([(x0 - 0.5 * ppm, top), (x1 + 0.5 * ppm, top), (sx, top - 0.35 * w)], fill=roof)
    win = ctx.lit((70, 90, 110), 0.9)
    floor_px = 3.0 * ppm
    if floor_px >= 2.5:
        y = top + floor_px * 0.3
        while y + floor_px * 0.4 < sy - floor_px * 0.5:
            x = x0 + 0.15 * w
            while x + 0.1 * w < x1:
                draw.rectangle((x, y, x + 1.0 * ppm, y + 1.2 * ppm), fill=win)
                x += 2.2 * ppm
            y += floor_px
    if p["glyph_seed"] % 3 == 0 and 1.0 * ppm >= 2:
        band = (x0 + 0.1 * w, sy - 3.2 * ppm, x1 - 0.1 * w, sy - 2.2 * ppm)
        draw.rectangle(band, fill=ctx.lit((240, 240, 235) if p["glyph_seed"] % 2 else (180, 30, 30)))
        ink = (20, 20, 20) if p["glyph_seed"] % 2 else (250, 250, 250)
        draw_glyph_row(draw, (band[0] + 1, band[1] + 0.5, band[2] - 1, band[3] - 0.5),
                       ctx.scene.script, seed=p["glyph_seed"], colour=ctx.lit(ink))
