"""Everything the geo layer knows about points, in one batch call.

``GeoLookup.default().lookup(lat, lng)`` returns a dict of numpy arrays (one value per point):

=========================  ==================================================================
``country``                ISO 3166-1 alpha-2 code, ``""`` at sea (Natural Earth 10 m)
``country_name``           English name (GeoNames)
``admin1``                 state / province / region name, ``""`` at sea
``land``                   bool, GLOBE 30" land mask (lakes are land)
``koppen``                 Köppen-Geiger class (``"Cfb"``; ``"Ocean"`` at sea), ~3 km
``elevation_m``            metres, 5' grid (~9 km); NaN where unknown
``temp_mean_c``            annual mean 2 m temperature, ERA5 2000-2025, 0.25°
``temp_range_c``           warmest minus coldest monthly mean
``precip_mm_year``         annual precipitation
``precip_range_mm_month``  wettest minus driest month
``pop_density``            people/km², estimate (see backend.geo.population)
``place``                  nearest GeoNames place (≥ 500 people) and ``place_distance_km``
``town``                   most populous place within 10 km (the name a person would use),
                           ``town_population``, ``town_distance_km``
=========================  ==================================================================

A point that the 1 km land mask calls land but that lies outside every Natural Earth polygon (a
harbour, a coastal town the 10 m coastline cuts off) takes the nearest polygon within ``coast_km``
(default 10 km); points at sea stay ``""``. Every part loads lazily, so asking for one field only
loads what it needs.

Usage::

    from backend.geo.lookup import GeoLookup
    geo = GeoLookup.default()
    info = geo.lookup([48.8566, -33.87], [2.3522, 151.21])
    info["country"], info["koppen"], info["elevation_m"]
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from backend.core.geodesy import validate_latlng
from backend.geo.countries import driving_side

FIELDS = ("lat", "lng", "country", "country_name", "admin1", "land", "koppen", "elevation_m",
          "temp_mean_c", "temp_range_c", "precip_mm_year", "precip_range_mm_month",
          "pop_density", "place", "place_distance_km", "town", "town_population",
          "town_distance_km", "driving_side")


class GeoLookup:
    """Lazy holder of every geo asset with batch lookups (arrays in, arrays out)."""

    _default: GeoLookup | None = None
    _shared_parts: ClassVar[dict[str, Any]] = {}

    def __init__(self, *, coast_km: float = 10.0):
        if not coast_km >= 0:
            raise ValueError(f"coast_km must be >= 0, got {coast_km!r}")
        self.coast_km = float(coast_km)
        self._parts = GeoLookup._shared_parts  # assets are read-only: every instance shares them

    @classmethod
    def default(cls) -> GeoLookup:
        """A process-wide shared instance (assets are loaded once, on first use)."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    def _part(self, name: str) -> Any:
        if name not in self._parts:
            if name == "admin":
                from backend.geo.admin import AdminAreas
                self._parts[name] = AdminAreas.default("admin1")
            elif name == "koppen":
                from backend.geo.koppen import Koppen
                self._parts[name] = Koppen.load()
            elif name == "elevation":
                from backend.geo.elevation import Elevation
                self._parts[name] = Elevation.load()
            elif name == "climate":
                from backend.geo.climate import Climate
                self._parts[name] = Climate.load()
            elif name == "landmask":
                from backend.geo.landmask import LandMask
                self._parts[name] = LandMask.load()
            elif name == "places":
                from backend.geo.places import Places
                self._parts[name] = Places.load()
            elif name == "population":
                from backend.geo.population import PopulationDensity
                self._parts[name] = PopulationDensity.load()
            else:
                raise KeyError(name)
        return self._parts[name]

    # --- per-field lookups (each validates its input) ------------------------------------

    def admin_index(self, lat: Any, lng: Any) -> np.ndarray:
        """Row of the admin-1 polygon for each point (-1 at sea), with the coastal rule above."""
        lat_a, lng_a = validate_latlng(lat, lng)
        admin = self._part("admin")
        idx = admin.index_of(lat_a, lng_a)
        if self.coast_km > 0:
            miss = (idx < 0) & self.is_land(lat_a, lng_a)
            if miss.any():
                idx[miss] = admin.index_of(lat_a[miss], lng_a[miss], nearest_km=self.coast_km)
        return idx

    def country(self, lat: Any, lng: Any) -> np.ndarray:
        """ISO2 codes (``""`` at sea)."""
        return self._part("admin")._iso2_ext[self.admin_index(lat, lng)]

    def admin1(self, lat: Any, lng: Any) -> np.ndarray:
        """Admin-1 names (``""`` at sea)."""
        return self._part("admin")._admin1_ext[self.admin_index(lat, lng)]

    def is_land(self, lat: Any, lng: Any) -> np.ndarray:
        return self._part("landmask").is_land(lat, lng)

    def koppen(self, lat: Any, lng: Any, land: Any = None) -> np.ndarray:
        """Köppen class; a land point (land mask) whose 3 km cell is sea takes the nearest land
        class, a sea point stays ``"Ocean"``."""
        k = self._part("koppen")
        if land is None:
            land = self.is_land(lat, lng)
        return np.where(land, k.classify(lat, lng), k.classify(lat, lng, fill_coast=False))

    def elevation_m(self, lat: Any, lng: Any) -> np.ndarray:
        return self._part("elevation").elevation_m(lat, lng)

    def climate(self, lat: Any, lng: Any) -> dict[str, np.ndarray]:
        return self._part("climate").normals(lat, lng)

    def population_density(self, lat: Any, lng: Any, iso2: Any = None) -> np.ndarray:
        if iso2 is None:
            iso2 = self.country(lat, lng)
        return self._part("population").density(lat, lng, iso2=iso2)

    def nearest_place(self, lat: Any, lng: Any) -> dict[str, np.ndarray]:
        return self._part("places").nearest(lat, lng)

    def town(self, lat: Any, lng: Any) -> dict[str, np.ndarray]:
        return self._part("places").main_place(lat, lng)

    # --- everything at once --------------------------------------------------------------

    def lookup(self, lat: Any, lng: Any) -> dict[str, np.ndarray]:
        """Every field for every point (see the module docstring for the fields).

        Args:
            lat, lng: degrees; scalars or equal-shape arrays. Longitudes are wrapped.

        Returns:
            Dict of numpy arrays of the input's shape, keys :data:`FIELDS`.

        Raises:
            CoordinateError: non-numbers, NaN/inf, latitude out of range, empty batch.
            AssetsMissing: the assets are not built (run ``make setup``).
        """
        lat_a, lng_a = validate_latlng(lat, lng)
        admin = self._part("admin")
        idx = self.admin_index(lat_a, lng_a)
        iso2 = admin._iso2_ext[idx]
        given = np.asarray(lng, dtype=np.float64)
        # echo in-range longitudes exactly as given (wrapping adds float noise)
        lng_out = np.where((given >= -180.0) & (given < 180.0), given, lng_a)
        land = self.is_land(lat_a, lng_a)
        out: dict[str, np.ndarray] = {
            "lat": lat_a, "lng": lng_out, "country": iso2,
            "country_name": admin._country_ext[idx], "admin1": admin._admin1_ext[idx],
            "land": land, "koppen": self.koppen(lat_a, lng_a, land),
            "elevation_m": self.elevation_m(lat_a, lng_a),
        }
        out.update(self.climate(lat_a, lng_a))
        out["pop_density"] = self.population_density(lat_a, lng_a, iso2)
        near = self.nearest_place(lat_a, lng_a)
        out["place"], out["place_distance_km"] = near["name"], near["distance_km"]
        town = self.town(lat_a, lng_a)
        out["town"], out["town_population"] = town["name"], town["population"]
        out["town_distance_km"] = town["distance_km"]
        uniq, inv = np.unique(iso2, return_inverse=True)
        sides = np.array([driving_side(c) if c else "" for c in uniq])
        out["driving_side"] = sides[inv].reshape(iso2.shape)
        return out

    def lookup_records(self, lat: Any, lng: Any) -> list[dict[str, Any]]:
        """:meth:`lookup` as one plain-Python dict per point (JSON-ready; NaN becomes None;
        measured values rounded to 3 decimals, coordinates kept as given)."""
        validate_latlng(lat, lng)  # clear errors before any conversion below
        res = self.lookup(np.atleast_1d(np.asarray(lat, dtype=np.float64)),
                          np.atleast_1d(np.asarray(lng, dtype=np.float64)))
        n = res["lat"].size
        flat = {k: np.asarray(v).ravel() for k, v in res.items()}
        records = []
        for i in range(n):
            rec: dict[str, Any] = {}
            for k in FIELDS:
                v = flat[k][i].item() if hasattr(flat[k][i], "item") else flat[k][i]
                if isinstance(v, float):
                    v = None if not np.isfinite(v) else v if k in ("lat", "lng") else round(v, 3)
                rec[k] = v
            records.append(rec)
        return records
