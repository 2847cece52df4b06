"""Ground and mountains: the Köppen zone colours the ground, the real terrain shapes the horizon.

* Ground colour comes from the Köppen class and the season (dry-season browning, bare winter
  ground), with snow in the cold months of cold climates and on high ground.
* The horizon profile is the real terrain: the scene builder measures the elevation angle of
  the surrounding land in 16 world directions; here it is exaggerated (``TERRAIN_GAIN``) so
  that a few hundred metres of relief shows at 64 px, roughened with ridges that are a fixed
  function of world azimuth (so the four views agree), and drawn with haze and snow caps.

Usage::

    colour = ground_colour(scene)
    paint_mountains(draw, cam, scene, rng_phases)
"""

from __future__ import annotations

import math

import numpy as np
from PIL import ImageDraw

from backend.synthworld.camera import Camera
from backend.synthworld.scene import HORIZON_AZIMUTHS, Scene

TERRAIN_GAIN = 4.0
"""Vertical exaggeration of the horizon profile."""

# (summer colour, dry/winter colour) per Köppen group key
_GROUND: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "Af": ((60, 125, 45), (60, 120, 45)),
    "Am": ((70, 130, 45), (95, 120, 55)),
    "Aw": ((110, 140, 55), (170, 150, 85)),
    "BWh": ((215, 185, 135), (210, 180, 130)),
    "BWk": ((175, 160, 130), (165, 150, 125)),
    "BSh": ((175, 155, 95), (185, 160, 105)),
    "BSk": ((150, 145, 95), (160, 145, 110)),
    "Cs": ((165, 150, 80), (100, 130, 60)),   # Mediterranean: dry summer, green winter
    "Cw": ((85, 135, 55), (150, 140, 80)),
    "Cf": ((80, 140, 60), (95, 120, 70)),
    "D": ((85, 135, 60), (120, 110, 90)),
    "ET": ((120, 125, 100), (150, 150, 140)),
    "EF": ((235, 240, 245), (235, 240, 245)),
}


def koppen_group(code: str) -> str:
    """Key into the ground table: 'Af', 'Cs', 'D', ... (coarser for C and D)."""
    if code[0] == "A" or code[0] == "B" or code in ("ET", "EF"):
        return code
    if code[0] == "C":
        return code[:2]
    return "D"


def season_weight(scene: Scene) -> float:
    """0 in the warm/wet heart of the year, 1 in the cold/dry heart (hemisphere-aware)."""
    month = scene.month if scene.lat >= 0 else (scene.month + 5) % 12 + 1
    return 0.5 + 0.5 * math.cos(2 * math.pi * (month - 1) / 12.0)  # January north = 1


def snow_cover(scene: Scene) -> float:
    """Fraction of the ground under snow (0-1)."""
    winter = season_weight(scene)
    k = scene.koppen
    base = 0.0
    if k == "EF":
        return 1.0
    if k == "ET":
        base = 0.35 + 0.6 * winter
    elif k[0] == "D":
        base = max(0.0, winter - 0.35) * (1.5 if k[2:] in ("c", "d") else 1.0)
    elif k in ("Cfc", "Csc", "Cwc", "BSk", "BWk"):
        base = max(0.0, winter - 0.6) * 0.8
    if scene.elevation_m > 2200:
        base += (scene.elevation_m - 2200) / 2000.0 * (0.4 + 0.6 * winter)
    return float(np.clip(base, 0.0, 1.0))


def ground_colour(scene: Scene) -> np.ndarray:
    """The ground's RGB (float) for the scene's climate and season, snow included."""
    wet, dry = (np.array(c, np.float32) for c in _GROUND[koppen_group(scene.koppen)])
    w = season_weight(scene)
    col = wet * (1 - w) + dry * w
    snow = snow_cover(scene)
    return col * (1 - snow) + np.array([238, 240, 245], np.float32) * snow


def horizon_angles(cam: Camera, scene: Scene, phases: np.ndarray) -> np.ndarray:
    """Terrain elevation angle (degrees, exaggerated) for every column of the view."""
    xs = np.arange(cam.width, dtype=np.float64)
    az = (cam.heading_deg + np.degrees(np.arctan((xs - cam.cx) / cam.focal))) % 360.0
    prof = np.asarray(scene.horizon_deg, dtype=np.float64)
    step = 360.0 / HORIZON_AZIMUTHS
    i0 = np.floor(az / step).astype(int) % HORIZON_AZIMUTHS
    frac = az / step - np.floor(az / step)
    base = prof[i0] * (1 - frac) + prof[(i0 + 1) % HORIZON_AZIMUTHS] * frac
    relief = max(float(prof.max() - min(prof.min(), 0.0)), 0.0)
    rad = np.radians(az)
    ridges = sum(np.sin((i + 3) * rad + p) / (i + 3) for i, p in enumerate(phases))
    rough = 0.25 + 0.35 * min(relief, 3.0)
    return np.maximum(base * TERRAIN_GAIN + ridges * rough, -0.5)


def paint_mountains(draw: ImageDraw.ImageDraw, cam: Camera, scene: Scene, phases: np.ndarray,
                    haze_rgb: np.ndarray) -> None:
    """Draw the horizon profile as one polygon with a snow cap when the land is high and cold."""
    ang = horizon_angles(cam, scene, phases)
    ys = cam.horizon_y - cam.focal * np.tan(np.radians(ang))
    xs = np.arange(cam.width)
    g = koppen_group(scene.koppen)
    land = np.array((120, 125, 135) if g in ("EF", "ET") else
                    (150, 130, 110) if g.startswith("B") else (85, 110, 95), np.float32)
    col = tuple(int(v) for v in land * 0.55 + haze_rgb * 0.45)
    pts = [(0, cam.horizon_y + 1)] + list(zip(xs.tolist(), ys.tolist())) + \
          [(cam.width - 1, cam.horizon_y + 1)]
    draw.polygon(pts, fill=col)
    peak = float(ang.max())
    cold = scene.elevation_m + peak / TERRAIN_GAIN * 150.0 > 2600 - 900 * abs(scene.lat) / 60.0
    if cold and peak > 1.5:
        cap_y = cam.horizon_y - cam.focal * math.tan(math.radians(peak * 0.7))
        snow = [(x, y) for x, y in zip(xs.tolist(), ys.tolist())]
        cap = [(x, max(y, cap_y)) for x, y in snow]
        draw.polygon(snow + cap[::-1], fill=(235, 238, 242))
