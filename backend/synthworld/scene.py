"""What one SynthWorld place is made of: the real geographic facts a renderer draws from.

A :class:`Scene` is pure data. :mod:`backend.synthworld.scene_builder` fills it from the geo
layer (country, admin-1, Köppen zone, elevation and the terrain around, population density,
driving side, the country's script, nearby GeoNames places); tests build scenes by hand.
The renderer turns a scene plus a heading into pixels; every heading of one scene shows the
same world (road axis, sun, mountains and landmarks stay fixed in world directions).

Usage::

    >>> s = Scene(lat=48.85, lng=2.35, month=6, seed=1, country="FR", admin1="FR-IDF",
    ...           koppen="Cfb", elevation_m=35.0, pop_density=2000.0, driving_side="right",
    ...           script="latin")
    >>> s.check().hemisphere
    'north'
"""

from __future__ import annotations

from dataclasses import dataclass, field

KOPPEN_CODES: tuple[str, ...] = (
    "Af", "Am", "Aw", "BWh", "BWk", "BSh", "BSk", "Csa", "Csb", "Csc", "Cwa", "Cwb", "Cwc",
    "Cfa", "Cfb", "Cfc", "Dsa", "Dsb", "Dsc", "Dsd", "Dwa", "Dwb", "Dwc", "Dwd", "Dfa", "Dfb",
    "Dfc", "Dfd", "ET", "EF",
)
"""The 30 Köppen-Geiger classes in the usual legend order (Beck et al. 2018: 1 = Af ... 30 = EF)."""

SCRIPTS: tuple[str, ...] = (
    "latin", "cyrillic", "greek", "arabic", "hebrew", "devanagari", "bengali", "thai", "cjk",
    "hangul", "georgian", "armenian", "ethiopic", "tamil", "other",
)
"""Glyph styles a sign can be written in (chosen from the country's first language)."""

HORIZON_AZIMUTHS = 16
"""The terrain profile is sampled at this many world azimuths (0° = north, clockwise)."""


class SceneError(ValueError):
    """A scene whose facts are out of range (the message says which field)."""


@dataclass(frozen=True)
class Landmark:
    """A GeoNames place seen from the viewpoint: its look is decided by ``place_id`` alone."""

    place_id: int
    azimuth_deg: float
    """Bearing from the viewpoint to the place, degrees clockwise from north."""
    distance_km: float
    population: int = 0


@dataclass(frozen=True)
class Scene:
    """The facts of one place that decide what its four views show."""

    lat: float
    lng: float
    month: int
    """1-12; with the latitude it sets the sun's height and the snow."""
    seed: int
    """Decides everything random about the place (road axis, object layout, clouds, noise)."""
    country: str = ""
    """ISO 3166-1 alpha-2, '' when unknown (then no country-specific cues are drawn)."""
    admin1: str = ""
    """Admin-1 code (e.g. 'FR-IDF'), '' when unknown."""
    koppen: str = "Cfb"
    elevation_m: float = 0.0
    pop_density: float = 50.0
    """People per km²: decides buildings and traffic."""
    driving_side: str = "right"
    script: str = "latin"
    continent: str = ""
    """Two-letter continent code (EU, AS, AF, NA, SA, OC, AN) or ''."""
    horizon_deg: tuple[float, ...] = field(default_factory=lambda: (0.0,) * HORIZON_AZIMUTHS)
    """Terrain elevation angle (degrees above the horizon) towards each of the 16 azimuths."""
    landmarks: tuple[Landmark, ...] = ()

    @property
    def hemisphere(self) -> str:
        return "north" if self.lat >= 0 else "south"

    def check(self) -> Scene:
        """Validate the facts; returns ``self`` so calls chain.

        Raises:
            SceneError: a field out of range, naming the field and the allowed values.
        """
        if not (-90.0 <= self.lat <= 90.0) or not (-180.0 <= self.lng <= 180.0):
            raise SceneError(f"lat/lng out of range: ({self.lat}, {self.lng})")
        if not 1 <= int(self.month) <= 12:
            raise SceneError(f"month must be 1-12, got {self.month!r}")
        if self.koppen not in KOPPEN_CODES:
            raise SceneError(f"koppen must be one of {', '.join(KOPPEN_CODES)}; got {self.koppen!r}")
        if self.driving_side not in ("left", "right"):
            raise SceneError(f"driving_side must be 'left' or 'right', got {self.driving_side!r}")
        if self.script not in SCRIPTS:
            raise SceneError(f"script must be one of {', '.join(SCRIPTS)}; got {self.script!r}")
        if len(self.horizon_deg) != HORIZON_AZIMUTHS:
            raise SceneError(f"horizon_deg needs {HORIZON_AZIMUTHS} values, got {len(self.horizon_deg)}")
        if not self.pop_density >= 0:
            raise SceneError(f"pop_density must be >= 0, got {self.pop_density!r}")
        return self
