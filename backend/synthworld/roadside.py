"""Roadside furniture: signs (region colour, country border and script), admin-1 bollards, poles.

A sign shows its face only to the traffic it faces (seen from behind it is a grey plate),
and it stands on that traffic's driving side. Bollards carry the admin-1 band colour, poles
the admin-1 material. Rocks are clutter that decide nothing.

Usage::

    draw_sign(ctx, obj, sx, sy, ppm)
"""

from __future__ import annotations

import numpy as np

from backend.synthworld.canvas import DrawContext
from backend.synthworld.glyphs import draw_glyph_row
from backend.synthworld.layout import WorldObject


def draw_sign(ctx: DrawContext, obj: WorldObject, sx: float, sy: float, ppm: float) -> None:
    """A sign on a post: face (colours + glyphs) when seen from the front, grey back otherwise."""
    st = ctx.style
    post_h, plate_w, plate_h = 2.2, 2.4, 1.4
    if st.sign_shape == "wide":
        plate_w, plate_h = 3.2, 1.2
    draw = ctx.draw
    draw.line((sx, sy, sx, sy - (post_h + plate_h) * ppm), fill=ctx.lit((120, 120, 125)),
              width=max(ctx.line, int(0.12 * ppm)))
    cx, cy = sx, sy - (post_h + plate_h / 2) * ppm
    hw, hh = plate_w / 2 * ppm, plate_h / 2 * ppm
    fx, fy = obj.params["faces"]
    view = np.array(obj.xy)
    front = float(view[0] * fx + view[1] * fy) < 0  # looking against the way it faces
    if not front:
        draw.rectangle((cx - hw, cy - hh, cx + hw, cy + hh), fill=ctx.lit((150, 150, 150)))
        return
    bg, acc = ctx.lit(st.sign_bg), ctx.lit(st.sign_accent)
    if st.sign_shape == "diamond":
        pts = [(cx, cy - hh * 1.3), (cx + hw, cy), (cx, cy + hh * 1.3), (cx - hw, cy)]
        draw.polygon(pts, fill=bg, outline=acc)
        inner = (cx - hw * 0.5, cy - hh * 0.4, cx + hw * 0.5, cy + hh * 0.4)
    else:
        b = max(1.0, 0.12 * ppm)
        draw.rectangle((cx - hw - b, cy - hh - b, cx + hw + b, cy + hh + b), fill=acc)
        draw.rectangle((cx - hw, cy - hh, cx + hw, cy + hh), fill=bg)
        inner = (cx - hw * 0.85, cy - hh * 0.6, cx + hw * 0.85, cy + hh * 0.6)
    dark = sum(st.sign_bg) < 380
    ink = (245, 245, 245) if dark else (20, 20, 20)
    x0, y0, x1, y1 = inner
    if y1 - y0 > 4:  # two lines when there is room
        mid = (y0 + y1) / 2
        draw_glyph_row(draw, (x0, y0, x1, mid - 0.5), ctx.scene.script,
                       seed=obj.params["glyph_seed"], colour=ctx.lit(ink))
        draw_glyph_row(draw, (x0, mid + 0.5, x1, y1), ctx.scene.script,
                       seed=obj.params["glyph_seed"] + 1, colour=ctx.lit(ink))
    else:
        draw_glyph_row(draw, inner, ctx.scene.script, seed=obj.params["glyph_seed"],
                       colour=ctx.lit(ink))


def draw_bollard(ctx: DrawContext, obj: WorldObject, sx: float, sy: float, ppm: float) -> None:
    """A roadside post in the country's shape with the admin-1 band colour."""
    st = ctx.style
    h = {"post": 1.0, "round": 0.8, "tall": 1.3}[st.bollard_shape]
    w = 0.18 if st.bollard_shape != "round" else 0.28
    x0, x1, top = sx - w / 2 * ppm - 0.3, sx + w / 2 * ppm + 0.3, sy - h * ppm
    body = (235, 235, 230) if st.bollard_shape != "tall" else (40, 40, 40)
    ctx.draw.rectangle((x0, top, x1, sy), fill=ctx.lit(body))
    ctx.draw.rectangle((x0, top + 0.1 * h * ppm, x1, top + 0.3 * h * ppm),
                       fill=ctx.lit(st.bollard_band))


def draw_pole(ctx: DrawContext, obj: WorldObject, sx: float, sy: float, ppm: float) -> None:
    """A utility pole with a cross arm; its material is the admin-1's."""
    h = obj.params["height"]
    w = max(ctx.line, int(0.25 * ppm))
    col = ctx.lit(ctx.style.pole)
    ctx.draw.line((sx, sy, sx, sy - h * ppm), fill=col, width=w)
    ctx.draw.line((sx - 0.9 * ppm, sy - (h - 0.6) * ppm, sx + 0.9 * ppm, sy - (h - 0.6) * ppm),
                  fill=col, width=max(1, w // 2))


def draw_rock(ctx: DrawContext, obj: WorldObject, sx: float, sy: float, ppm: float) -> None:
    """A grey lump: clutter."""
    s = obj.params["size"] * ppm
    g = obj.params["grey"]
    ctx.draw.ellipse((sx - s, sy - s * 0.8, sx + s, sy + s * 0.15), fill=ctx.lit((g, g, g - 5)))
