"""The world around one place: where the road, cars, trees, signs and buildings stand.

A :class:`Layout` is drawn once per scene from ``scene.seed`` and holds world positions
(metres, x east / y north), so every heading of the place renders the same world. The street
view car stands in its own lane: on the right of its travel direction where traffic drives on
the right, on the left elsewhere, so the centre line, the oncoming cars (headlights) and the
signs' sides all reveal the driving side — none of them in every view.

Usage::

    layout = make_layout(scene)
    layout.road_azimuth, len(layout.objects)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from backend.synthworld.scene import Scene
from backend.synthworld.sky import sun_position
from backend.synthworld.styles import stable_int
from backend.synthworld.terrain import koppen_group

LANE_OFFSET_M = 1.8

# tree kinds and how many trees a climate grows (mean count within the drawn area)
_TREES: dict[str, tuple[tuple[str, ...], float]] = {
    "Af": (("palm", "broadleaf", "broadleaf"), 14.0),
    "Am": (("palm", "broadleaf"), 11.0),
    "Aw": (("acacia", "palm", "shrub"), 6.0),
    "BWh": (("shrub", "cactus"), 1.0),
    "BWk": (("shrub",), 1.0),
    "BSh": (("shrub", "acacia"), 3.0),
    "BSk": (("shrub", "conifer"), 2.5),
    "Cs": (("cypress", "olive", "broadleaf"), 7.0),
    "Cw": (("broadleaf", "palm"), 9.0),
    "Cf": (("broadleaf", "broadleaf", "conifer"), 10.0),
    "D": (("conifer", "conifer", "broadleaf"), 12.0),
    "ET": (("shrub",), 1.0),
    "EF": ((), 0.0),
}


@dataclass
class WorldObject:
    """A billboard standing on the ground at ``xy``: kind + its own parameters."""

    kind: str
    xy: tuple[float, float]
    params: dict = field(default_factory=dict)


@dataclass
class Layout:
    """Everything random about a place, fixed in world coordinates."""

    road_azimuth: float
    road_half_width: float
    road_shift: float
    """Lateral position of the road's centre line relative to the camera along the road normal."""
    paved: bool
    sun: tuple[float, float]
    cloudiness: float
    haze: float
    clouds: list[tuple[float, float, float, float, int]]
    ridge_phases: np.ndarray
    exposure: float
    tint: np.ndarray
    noise_sigma: float
    objects: list[WorldObject]

    def road_axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit vectors: along the road (the camera's travel direction) and to its right."""
        r = math.radians(self.road_azimuth)
        return np.array([math.sin(r), math.cos(r)]), np.array([math.cos(r), -math.sin(r)])


def _tree_params(rng: np.random.Generator, kind: str, scene: Scene, winter: float) -> dict:
    bare = kind == "broadleaf" and koppen_group(scene.koppen) in ("D", "Cf") and winter > 0.75
    green = np.array({"palm": (50, 120, 40), "broadleaf": (55, 115, 40), "conifer": (30, 75, 40),
                      "acacia": (95, 120, 45), "shrub": (95, 110, 55), "cactus": (70, 120, 60),
                      "cypress": (35, 80, 35), "olive": (110, 130, 80)}[kind], np.float32)
    green = np.clip(green * rng.uniform(0.8, 1.2), 0, 255)
    height = {"palm": 9, "broadleaf": 10, "conifer": 14, "acacia": 6, "shrub": 1.6,
              "cactus": 3, "cypress": 11, "olive": 5}[kind] * rng.uniform(0.7, 1.3)
    return {"tree": "bare" if bare else kind, "height": float(height),
            "colour": tuple(int(v) for v in green)}


def make_layout(scene: Scene) -> Layout:
    """Draw the place's world from its seed (deterministic: same scene, same layout)."""
    from backend.synthworld.styles import place_style
    from backend.synthworld.terrain import season_weight

    rng = np.random.default_rng([scene.seed & 0xFFFFFFFF, scene.seed >> 32 & 0xFFFF, 7])
    style = place_style(scene)
    right = scene.driving_side == "right"
    road_az = float(rng.uniform(0, 360))
    density = float(scene.pop_density)
    urban = float(np.clip(math.log10(1.0 + density) / 3.5, 0.0, 1.0))
    paved = bool(rng.random() < 0.35 + 0.6 * urban)
    half_w = float(rng.uniform(2.8, 3.4) + 1.5 * urban * (rng.random() < 0.5))
    lane = LANE_OFFSET_M if right else -LANE_OFFSET_M
    sun = sun_position(scene.lat, scene.month, float(rng.uniform(9.0, 16.0)))
    group = koppen_group(scene.koppen)
    wet = 0.45 if group in ("Af", "Am", "Cf", "D", "ET") else 0.15 if group.startswith("B") else 0.3
    cloudiness = float(np.clip(rng.beta(1.2, 2.5) + wet - 0.2, 0.0, 0.95))
    n_clouds = int(rng.poisson(2 + 10 * cloudiness))
    clouds = [(float(rng.uniform(0, 360)), float(rng.uniform(4, 35)), float(rng.uniform(10, 40)),
               float(rng.uniform(3, 9)), int(rng.uniform(190, 250))) for _ in range(n_clouds)]
    objects: list[WorldObject] = []
    u = np.array([math.sin(math.radians(road_az)), math.cos(math.radians(road_az))])
    n = np.array([u[1], -u[0]])

    def at(along: float, lateral: float) -> tuple[float, float]:
        # lateral is measured from the road's centre line; the camera stands ``lane`` right of it
        p = u * along + n * (lateral - lane)
        return float(p[0]), float(p[1])

    # cars: a car right of the centre line drives along +u when traffic keeps right
    for _ in range(int(rng.poisson(0.6 + 3.0 * urban))):
        side = 1.0 if rng.random() < 0.5 else -1.0
        along = float(rng.uniform(8, 90) * (1 if rng.random() < 0.5 else -1))
        travel = side if right else -side
        col = tuple(int(v) for v in rng.choice(
            [(200, 200, 205), (30, 30, 35), (160, 20, 20), (40, 60, 140), (230, 230, 230),
             (120, 120, 125), (200, 170, 40)]))
        objects.append(WorldObject("car", at(along, side * LANE_OFFSET_M),
                                   {"travel": (float(u[0] * travel), float(u[1] * travel)),
                                    "colour": col}))
    # signs stand on the driving side of the traffic they face
    if rng.random() < 0.55:
        for _ in range(1 + int(rng.random() < 0.3)):
            travel = 1.0 if rng.random() < 0.5 else -1.0
            side = travel if right else -travel
            along = float(rng.uniform(7, 35)) * (1 if rng.random() < 0.6 else -1)
            objects.append(WorldObject("sign", at(along, side * (half_w + 1.2)),
                                       {"faces": (float(-u[0] * travel), float(-u[1] * travel)),
                                        "glyph_seed": int(rng.integers(1 << 30))}))
    # admin-1 bollards along both edges
    if rng.random() < 0.3 + 0.5 * (stable_int("bollards", scene.country) % 100) / 100:
        spacing = float(rng.uniform(18, 40))
        start = float(rng.uniform(0, spacing))
        for k in range(-6, 7):
            for side in (-1.0, 1.0):
                objects.append(WorldObject("bollard", at(start + k * spacing,
                                                         side * (half_w + 0.7)), {}))
    # utility poles along one side
    if rng.random() < 0.65:
        side = 1.0 if rng.random() < 0.5 else -1.0
        spacing = float(rng.uniform(30, 50))
        start = float(rng.uniform(0, spacing))
        for k in range(-4, 5):
            objects.append(WorldObject("pole", at(start + k * spacing, side * (half_w + 2.2)),
                                       {"height": 8.0}))
    # buildings, more and taller where people live
    n_build = int(rng.poisson(max(0.0, 14 * urban - 2.5)))
    for _ in range(n_build):
        side = 1.0 if rng.random() < 0.5 else -1.0
        height = float(3.5 + rng.gamma(1.5, 2.0 + 14 * urban ** 2))
        hue = (style.building_hue + rng.normal(0, 0.08)) % 1.0
        objects.append(WorldObject("building", at(float(rng.uniform(-110, 110)),
                                                  side * (half_w + rng.uniform(5, 22))),
                                   {"width": float(rng.uniform(7, 18)), "height": height,
                                    "hue": float(hue), "sat": float(rng.uniform(0.1, 0.45)),
                                    "flat": group.startswith(("A", "B")) or height > 12,
                                    "glyph_seed": int(rng.integers(1 << 30))}))
    # vegetation by climate
    kinds, mean = _TREES[group]
    winter = season_weight(scene)
    for _ in range(int(rng.poisson(mean * (1.0 - 0.5 * urban))) if kinds else 0):
        side = 1.0 if rng.random() < 0.5 else -1.0
        kind = str(rng.choice(kinds))
        objects.append(WorldObject("tree", at(float(rng.uniform(-120, 120)),
                                              side * (half_w + rng.uniform(3, 45))),
                                   _tree_params(rng, kind, scene, winter)))
    # clutter: noise that decides nothing
    for _ in range(int(rng.poisson(2.0))):
        side = 1.0 if rng.random() < 0.5 else -1.0
        objects.append(WorldObject("rock", at(float(rng.uniform(-60, 60)),
                                              side * (half_w + rng.uniform(0.5, 15))),
                                   {"size": float(rng.uniform(0.3, 1.2)),
                                    "grey": int(rng.uniform(80, 170))}))
    return Layout(
        road_azimuth=road_az, road_half_width=half_w, road_shift=-lane, paved=paved, sun=sun,
        cloudiness=cloudiness, haze=float(rng.uniform(0.05, 0.35)), clouds=clouds,
        ridge_phases=rng.uniform(0, 2 * math.pi, size=4), exposure=float(rng.uniform(0.85, 1.15)),
        tint=rng.normal(1.0, 0.04, size=3).astype(np.float32),
        noise_sigma=float(rng.uniform(2.0, 6.0)), objects=objects)
