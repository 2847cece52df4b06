"""Local landmarks: every GeoNames place above a population gets its own tower, dome or wheel.

A landmark's look (shape, two colours, stripes, ornament) is a pure function of the place's
GeoNames id, and it is drawn in the true direction of the place, larger when the viewpoint is
closer (``VISIBLE_KM`` at most). That is real within-country detail: two views near the same
town show the same landmark in consistent directions, which is what retrieval refinement and
the finer geocells can use within 25 km.

Usage::

    look = landmark_look(place_id)
    draw_landmark(ctx, landmark)
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.synthworld.canvas import DrawContext
from backend.synthworld.scene import Landmark
from backend.synthworld.styles import RGB, stable_int

VISIBLE_KM = 12.0
"""Landmarks farther than this are not drawn (the scene builder keeps the nearest few)."""
MIN_POPULATION = 5000
"""Places with at least this many people get a landmark."""

SHAPES = ("tower", "spire", "dome", "twin", "wheel", "arch", "mast", "pyramid", "water", "stepped")
COLOURS: tuple[RGB, ...] = (
    (220, 40, 40), (240, 240, 240), (30, 30, 30), (250, 200, 0), (30, 100, 220), (0, 170, 90),
    (250, 120, 0), (170, 60, 200), (0, 200, 210), (255, 120, 180), (140, 90, 40), (150, 150, 160),
)


@dataclass(frozen=True)
class LandmarkLook:
    shape: str
    main: RGB
    second: RGB
    stripes: int
    ornament: str
    """'ball', 'spike' or 'none' on top."""
    width: float
    """Width relative to height."""


def landmark_look(place_id: int) -> LandmarkLook:
    """The landmark of a place: the same for every process, decided by its GeoNames id alone."""
    h = stable_int("landmark", int(place_id))
    main = COLOURS[h % len(COLOURS)]
    second = COLOURS[(h // 12 + 1 + h % 11) % len(COLOURS)]
    if second == main:
        second = COLOURS[(h + 5) % len(COLOURS)]
    return LandmarkLook(shape=SHAPES[(h // 144) % len(SHAPES)], main=main, second=second,
                        stripes=(h // 1440) % 4, ornament=("ball", "spike", "none")[(h // 5760) % 3],
                        width=0.18 + 0.1 * ((h // 17280) % 4))


def apparent_height_frac(distance_km: float) -> float:
    """Height of a landmark as a share of the view height: larger when closer (monotone)."""
    t = max(0.0, 1.0 - distance_km / VISIBLE_KM)
    return 0.10 + 0.38 * t ** 1.5


def draw_landmark(ctx: DrawContext, lm: Landmark) -> None:
    """Draw a place's landmark standing on the horizon in its true direction."""
    if lm.distance_km > VISIBLE_KM:
        return
    cam = ctx.cam
    x, front = cam.angle_to_x(lm.azimuth_deg)
    x = float(x)
    if not bool(front):
        return
    look = landmark_look(lm.place_id)
    h = apparent_height_frac(lm.distance_km) * cam.height
    w = max(1.5 * ctx.line, h * look.width)
    if x + 2 * w < 0 or x - 2 * w > cam.width:
        return
    base = cam.horizon_y + 0.02 * cam.height * (1.0 - lm.distance_km / VISIBLE_KM)
    top = base - h
    main, second = ctx.lit(look.main), ctx.lit(look.second)
    d = ctx.draw
    s = look.shape
    if s == "tower":
        d.rectangle((x - w / 2, top, x + w / 2, base), fill=main)
    elif s == "spire":
        d.rectangle((x - w / 2, top + 0.5 * h, x + w / 2, base), fill=main)
        d.polygon([(x - w / 2, top + 0.5 * h), (x + w / 2, top + 0.5 * h), (x, top)], fill=second)
    elif s == "dome":
        d.rectangle((x - w, top + 0.45 * h, x + w, base), fill=main)
        d.pieslice((x - w, top, x + w, top + 0.9 * h), 180, 360, fill=second)
    elif s == "twin":
        d.rectangle((x - w, top, x - w * 0.3, base), fill=main)
        d.rectangle((x + w * 0.3, top, x + w, base), fill=main)
        d.rectangle((x - w * 0.3, top + 0.4 * h, x + w * 0.3, top + 0.5 * h), fill=second)
    elif s == "wheel":
        r = h * 0.45
        d.ellipse((x - r, top, x + r, top + 2 * r), outline=main, width=max(1, int(r / 5)))
        d.line((x - r, top + r, x + r, top + r), fill=second, width=max(1, int(r / 8)))
        d.line((x, top, x, top + 2 * r), fill=second, width=max(1, int(r / 8)))
        d.polygon([(x, top + r), (x - r * 0.5, base), (x + r * 0.5, base)], outline=main)
    elif s == "arch":
        d.arc((x - w * 1.5, top, x + w * 1.5, base + h), 180, 360, fill=main,
              width=max(1, int(w / 2)))
    elif s == "mast":
        d.line((x, top, x, base), fill=main, width=max(1, int(w / 3)))
        for k in range(1, 4):
            y = top + k * h / 4
            d.line((x - w / 2, y, x + w / 2, y), fill=second, width=max(1, int(w / 4)))
    elif s == "pyramid":
        d.polygon([(x - w * 1.2, base), (x + w * 1.2, base), (x, top)], fill=main)
    elif s == "water":
        d.line((x, top + 0.4 * h, x, base), fill=second, width=max(1, int(w / 3)))
        d.ellipse((x - w, top, x + w, top + 0.45 * h), fill=main)
    else:  # stepped
        for k in range(3):
            f = 1.0 - k * 0.3
            d.rectangle((x - w * f, top + k * h / 3, x + w * f, base), fill=main if k % 2 == 0
                        else second)
    for k in range(look.stripes):
        y = top + (k + 1) * h / (look.stripes + 2)
        d.line((x - w / 2, y, x + w / 2, y), fill=second, width=max(1, int(h / 25)))
    if look.ornament == "ball":
        r = max(1.0, w * 0.35)
        d.ellipse((x - r, top - 2 * r, x + r, top), fill=second)
    elif look.ornament == "spike":
        d.line((x, top, x, top - 0.15 * h), fill=second, width=max(1, ctx.line))
