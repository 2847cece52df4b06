"""Deterministic looks of regions, countries and admin-1 areas (sign colours, bollards, plates).

Cues are deliberately layered so that no single one is a country label:

* **region** (continent + a 12°×18° block of the *place*, not the country): the sign background
  colour — shared across neighbouring countries and varying inside big ones;
* **country**: the sign border, the road's centre-line colour and pattern, the car plate
  colour, the script (from its language, decided by the scene builder);
* **admin-1**: the bollard band, the utility pole material and the plate's band — the finer
  variant that lets a model tell regions of one country apart.

Everything is a pure function of the scene's facts through a stable hash (not Python's
``hash``, which changes per process).

Usage::

    style = place_style(scene)
    style.sign_bg, style.centre_line
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from backend.synthworld.scene import Scene

RGB = tuple[int, int, int]

SIGN_BACKGROUNDS: tuple[RGB, ...] = (
    (20, 110, 60), (25, 70, 160), (235, 235, 230), (240, 200, 30), (120, 70, 35),
    (190, 40, 40), (30, 30, 35), (230, 120, 30), (90, 150, 200), (130, 60, 140),
)
ACCENTS: tuple[RGB, ...] = (
    (255, 255, 255), (20, 20, 20), (200, 30, 30), (250, 210, 0), (30, 90, 200), (0, 140, 70),
)
PLATES: tuple[RGB, ...] = ((245, 245, 240), (250, 205, 20), (25, 25, 30), (40, 90, 190))
BANDS: tuple[RGB, ...] = (
    (230, 30, 30), (250, 250, 250), (20, 20, 20), (250, 200, 0), (30, 120, 220), (0, 160, 80),
    (250, 120, 0), (150, 60, 170), (120, 200, 230), (255, 130, 170), (110, 80, 50), (180, 180, 180),
)
POLES: tuple[RGB, ...] = ((110, 80, 50), (165, 165, 160), (70, 75, 80), (200, 200, 195))
YELLOW_LINE_CONTINENTS = ("NA", "SA")


def stable_int(*parts: object) -> int:
    """A hash of the parts that is the same in every process and on every machine."""
    return zlib.crc32("|".join(str(p) for p in parts).encode("utf-8"))


def pick(options: tuple, *parts: object):
    """Deterministically pick one of ``options`` from the hash of ``parts``."""
    return options[stable_int(*parts) % len(options)]


@dataclass(frozen=True)
class PlaceStyle:
    """Everything about a place's look that depends on where it is (not on chance)."""

    sign_bg: RGB
    sign_accent: RGB
    sign_shape: str
    """'rect', 'wide' or 'diamond'."""
    centre_line: RGB
    centre_pattern: str
    """'dashed', 'solid' or 'double'."""
    edge_line: bool
    plate: RGB
    plate_band: RGB
    bollard_band: RGB
    bollard_shape: str
    """'post', 'round' or 'tall'."""
    pole: RGB
    building_hue: float
    """0-1, region-level tint of facades."""


def region_key(scene: Scene) -> str:
    """Continent + the 12°×18° block the place is in: neighbours across a border share it."""
    return f"{scene.continent}:{math.floor(scene.lat / 12.0)}:{math.floor(scene.lng / 18.0)}"


def place_style(scene: Scene) -> PlaceStyle:
    """The look of a place, from its region, country and admin-1."""
    region = region_key(scene)
    country = scene.country or "??"
    admin1 = scene.admin1 or f"{country}-?"
    yellow = scene.continent in YELLOW_LINE_CONTINENTS or stable_int("yl", country) % 9 == 0
    return PlaceStyle(
        sign_bg=pick(SIGN_BACKGROUNDS, "bg", region),
        sign_accent=pick(ACCENTS, "accent", country),
        sign_shape=pick(("rect", "wide", "diamond", "rect"), "shape", country),
        centre_line=(235, 190, 20) if yellow else (240, 240, 235),
        centre_pattern=pick(("dashed", "solid", "double", "dashed"), "centre", country),
        edge_line=stable_int("edge", country) % 3 != 0,
        plate=pick(PLATES, "plate", country),
        plate_band=pick(BANDS, "plateband", admin1),
        bollard_band=pick(BANDS, "bollard", admin1),
        bollard_shape=pick(("post", "round", "tall"), "bshape", country, admin1),
        pole=pick(POLES, "pole", admin1),
        building_hue=(stable_int("hue", region) % 1000) / 1000.0,
    )
