"""Trees by climate: palms, broadleaf, conifers, acacias, cypresses, olives, shrubs, cacti.

Which kinds grow and how many come from the Köppen zone (see ``layout._TREES``); deciduous
trees stand bare in the cold months of cold climates.

Usage::

    draw_tree(ctx, obj, sx, sy, ppm)
"""

from __future__ import annotations

from backend.synthworld.canvas import DrawContext
from backend.synthworld.layout import WorldObject

TRUNK = (95, 70, 45)


def draw_tree(ctx: DrawContext, obj: WorldObject, sx: float, sy: float, ppm: float) -> None:
    """Draw one tree of the object's kind, ``height`` metres tall."""
    p = obj.params
    kind, h, col = p["tree"], p["height"] * ppm, ctx.lit(p["colour"])
    draw = ctx.draw
    trunk = ctx.lit(TRUNK)
    tw = max(ctx.line, int(0.06 * h))
    if kind == "palm":
        draw.line((sx, sy, sx + 0.1 * h, sy - h), fill=trunk, width=tw)
        top = (sx + 0.1 * h, sy - h)
        for dx, dy in ((-0.4, 0.15), (0.4, 0.15), (-0.25, -0.1), (0.25, -0.1), (0.0, -0.15)):
            draw.line((top[0], top[1], top[0] + dx * h, top[1] + dy * h), fill=col,
                      width=max(1, tw))
    elif kind == "conifer":
        draw.line((sx, sy, sx, sy - 0.2 * h), fill=trunk, width=tw)
        draw.polygon([(sx - 0.22 * h, sy - 0.15 * h), (sx + 0.22 * h, sy - 0.15 * h),
                      (sx, sy - h)], fill=col)
    elif kind == "cypress":
        draw.ellipse((sx - 0.1 * h, sy - h, sx + 0.1 * h, sy - 0.05 * h), fill=col)
    elif kind == "acacia":
        draw.line((sx, sy, sx, sy - 0.75 * h), fill=trunk, width=tw)
        draw.ellipse((sx - 0.6 * h, sy - h, sx + 0.6 * h, sy - 0.7 * h), fill=col)
    elif kind == "cactus":
        w = max(1.0, 0.1 * h)
        draw.rectangle((sx - w, sy - h, sx + w, sy), fill=col)
        draw.rectangle((sx - 3 * w, sy - 0.7 * h, sx - w, sy - 0.55 * h), fill=col)
        draw.rectangle((sx - 3 * w, sy - 0.9 * h, sx - 2 * w, sy - 0.55 * h), fill=col)
    elif kind == "shrub":
        draw.ellipse((sx - 0.9 * h, sy - h, sx + 0.9 * h, sy), fill=col)
    elif kind == "bare":
        draw.line((sx, sy, sx, sy - h), fill=trunk, width=tw)
        for f in (0.45, 0.65, 0.85):
            draw.line((sx, sy - f * h, sx - 0.25 * h, sy - (f + 0.15) * h), fill=trunk)
            draw.line((sx, sy - f * h, sx + 0.25 * h, sy - (f + 0.12) * h), fill=trunk)
    else:  # broadleaf, olive
        draw.line((sx, sy, sx, sy - 0.5 * h), fill=trunk, width=tw)
        r = 0.33 * h if kind == "broadleaf" else 0.4 * h
        draw.ellipse((sx - r, sy - h, sx + r, sy - h + 1.7 * r), fill=col)
