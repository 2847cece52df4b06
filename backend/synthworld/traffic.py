"""Cars on the road: their lane and which end you see tell the driving side.

A car going away shows red tail lights, an oncoming car white headlights; where traffic keeps
right, oncoming cars pass on the viewer's left. Plates carry the country's colour with the
admin-1's band.

Usage::

    draw_car(ctx, obj, sx, sy, ppm)
"""

from __future__ import annotations

from backend.synthworld.canvas import DrawContext
from backend.synthworld.layout import WorldObject


def draw_car(ctx: DrawContext, obj: WorldObject, sx: float, sy: float, ppm: float) -> None:
    """Draw a car seen from the front or the back (boxy, 1.8 m wide, 1.5 m high)."""
    tx, ty = obj.params["travel"]
    away = obj.xy[0] * tx + obj.xy[1] * ty > 0
    w, h = 1.8 * ppm, 1.5 * ppm
    draw = ctx.draw
    body = ctx.lit(obj.params["colour"])
    draw.rectangle((sx - w / 2, sy - h * 0.6, sx + w / 2, sy), fill=body)
    draw.rectangle((sx - w * 0.4, sy - h, sx + w * 0.4, sy - h * 0.55), fill=body)
    draw.rectangle((sx - w * 0.33, sy - h * 0.93, sx + w * 0.33, sy - h * 0.62),
                   fill=ctx.lit((60, 70, 85)))
    lamp = (230, 30, 30) if away else (255, 250, 210)
    lw, ly = max(1.0, w * 0.14), sy - h * 0.42
    draw.rectangle((sx - w / 2, ly, sx - w / 2 + lw, ly + lw * 0.7), fill=lamp)
    draw.rectangle((sx + w / 2 - lw, ly, sx + w / 2, ly + lw * 0.7), fill=lamp)
    pw, ph = w * 0.3, max(1.0, h * 0.1)
    py = sy - h * 0.25
    draw.rectangle((sx - pw / 2, py, sx + pw / 2, py + ph), fill=ctx.style.plate)
    draw.rectangle((sx - pw / 2, py, sx - pw / 2 + max(1.0, pw * 0.2), py + ph),
                   fill=ctx.style.plate_band)
    draw.rectangle((sx - w / 2, sy - 0.1 * ppm, sx + w / 2, sy), fill=(20, 20, 20))
