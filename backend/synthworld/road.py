"""The road under the camera: surface, centre line and edge lines, and shadows on the ground.

The road runs along ``layout.road_azimuth`` through the camera's lane: its centre line lies
to the camera's left (facing its travel direction) where traffic keeps right, to its right
elsewhere. Markings are the country's (colour and pattern, see ``styles``); unpaved roads have
none. Dash positions are fixed in the world, so the four views agree.

Usage::

    draw_road(ctx, ground_rgb)
    draw_shadow(ctx, base_xy, height_m, width_m, shadow_rgb)
"""

from __future__ import annotations

import math

import numpy as np

from backend.synthworld.canvas import DrawContext

ROAD_HALF_LENGTH_M = 400.0


def _strip(ctx: DrawContext, lateral: float, half_w: float, t0: float, t1: float) -> list:
    u, n = ctx.layout.road_axes()
    c = n * ctx.layout.road_shift + n * lateral
    quad = np.array([c + u * t0 - n * half_w, c + u * t1 - n * half_w,
                     c + u * t1 + n * half_w, c + u * t0 + n * half_w])
    return ctx.cam.ground_polygon(quad)


def draw_road(ctx: DrawContext, ground: np.ndarray) -> None:
    """Draw the road surface, its shoulders and its markings."""
    lay, st, draw = ctx.layout, ctx.style, ctx.draw
    L = ROAD_HALF_LENGTH_M
    if lay.paved:
        surface = ctx.lit((78, 80, 84))
        shoulder = tuple(int(v) for v in np.array(ctx.lit((110, 105, 95))) * 0.5 + ground * 0.5)
    else:
        tropical = ctx.scene.koppen[0] == "A"
        dirt = (165, 95, 55) if tropical else (150, 130, 100)
        surface = tuple(int(v) for v in np.array(ctx.lit(dirt)) * 0.7 + ground * 0.3)
        shoulder = tuple(int(v) for v in ground * 0.85)
    poly = _strip(ctx, 0.0, lay.road_half_width + 0.8, -L, L)
    if poly:
        draw.polygon(poly, fill=shoulder)
    poly = _strip(ctx, 0.0, lay.road_half_width, -L, L)
    if poly:
        draw.polygon(poly, fill=surface)
    if not lay.paved:
        return
    paint = ctx.lit(st.centre_line)
    white = ctx.lit((235, 235, 230))
    if st.centre_pattern == "solid":
        strips = [(0.0, 0.08, -L, L)]
    elif st.centre_pattern == "double":
        strips = [(-0.18, 0.07, -L, L), (0.18, 0.07, -L, L)]
    else:
        phase = (ctx.scene.seed % 9)
        strips = [(0.0, 0.08, t, t + 3.0) for t in np.arange(-120 + phase, 120, 9.0)]
    for lat, hw, t0, t1 in strips:
        p = _strip(ctx, lat, hw, t0, t1)
        if p:
            draw.polygon(p, fill=paint)
    if st.edge_line:
        for side in (-1.0, 1.0):
            p = _strip(ctx, side * (lay.road_half_width - 0.25), 0.07, -L, L)
            if p:
                draw.polygon(p, fill=white)


def draw_shadow(ctx: DrawContext, base: tuple[float, float], height_m: float, width_m: float,
                colour: tuple[int, int, int]) -> None:
    """A ground shadow from ``base`` pointing away from the sun (length height/tan(elevation))."""
    elev, az = ctx.layout.sun
    if elev < 3 or ctx.layout.cloudiness > 0.7:
        return
    length = min(height_m / math.tan(math.radians(elev)), 6 * height_m, 60.0)
    a = math.radians(az + 180.0)
    s = np.array([math.sin(a), math.cos(a)])
    p = np.array([s[1], -s[0]]) * width_m / 2
    b = np.array(base)
    quad = np.array([b - p, b + p, b + p + s * length, b - p + s * length])
    poly = ctx.cam.ground_polygon(quad)
    if poly:
        ctx.draw.polygon(poly, fill=colour)
